import assert from 'node:assert/strict';
import { scaled } from '../helpers/time-scale.js';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { describeRun, runCreate, runExt, temporaryDirectory } from '../helpers/run-cli.js';
import { rieBinary, runUnderRie, type RieRun } from '../helpers/rie.js';
import { skipWithoutTool } from '../helpers/tiers.js';
import { startTelemetrySink } from '../helpers/telemetry-sink.js';
import {
  createStandaloneProject,
  fillStandaloneCache,
  standaloneEnvironment,
  standaloneTestNodeVersion,
  unreachableRegistry,
} from '../helpers/standalone-node.js';
import { mkdir, symlink } from 'node:fs/promises';

/**
 * Every generated template under AWS's own emulator, in both compute modes:
 * at least three invokes and a shutdown with no `Extension.*` error and no
 * error-level line from the extension. Under managed instances RIE's
 * Telemetry API really delivers, so the telemetry templates must ship the
 * function's lines to a local sink.
 */
const availability = await rieBinary();
const skip = skipWithoutTool('the RIE conformance suite', 'skip' in availability ? availability.skip : false);

let workspace: { path: string; cleanup: () => Promise<void> };
before(async () => {
  workspace = await temporaryDirectory('cle-conformance-');
});
after(async () => workspace?.cleanup());

/** Every invoke answered 200, with no extension error and no error line; returns the RIE log for messages. */
function assertEveryInvokeClean(run: RieRun): string {
  const context = `--- RIE log\n${run.log}`;
  assert.deepEqual(
    run.invokes.map((result) => result.status),
    Array(invokes).fill(200),
    context,
  );
  assert.deepEqual(run.extensionErrors, [], context);
  assert.deepEqual(errorLines(run), [], context);
  return context;
}

function errorLines(run: RieRun): string[] {
  return run.log.split('\n').filter((line) => /"level":"ERROR"/u.test(line));
}

const functionLines = 5;
const invokes = 3;

for (const language of ['go', 'ts'] as const) {
  for (const template of ['basic', 'telemetry'] as const) {
    describe(`${language} ${template} template under RIE`, { skip }, () => {
      const name = `${language}-${template}-rie`;
      let layer: string;

      before(async () => {
        const project = path.join(workspace.path, name);
        const created = await runCreate([project, '--lang', language, '--template', template, '--yes']);
        assert.equal(created.code, 0, describeRun(created));
        const built = await runExt(['build', '--arch', 'x86_64'], { cwd: project, timeoutMs: 300_000 });
        assert.equal(built.code, 0, describeRun(built));
        layer = path.join(project, 'dist', 'x86_64');
      });

      for (const mode of ['on-demand', 'managed-instances'] as const) {
        it(`runs ${invokes} invokes and shuts down cleanly (${mode})`, { timeout: scaled(120_000) }, async () => {
          const sink = template === 'telemetry' ? await startTelemetrySink() : undefined;
          const prefix = `${name.toUpperCase().replace(/[^A-Z0-9]+/gu, '_')}_`;
          try {
            const run = await runUnderRie((availability as { binary: string }).binary, {
              layerDirectory: layer,
              mode,
              invokes,
              functionLines,
              env: sink === undefined ? {} : { [`${prefix}SINK`]: 'http', [`${prefix}HTTP_URL`]: sink.url },
            });
            const context = assertEveryInvokeClean(run);
            assert.match(run.log, /"msg":"shutdown"|"msg":"stopped"/u, context);
            if (sink !== undefined && mode === 'managed-instances') {
              const shipped = sink
                .records()
                .filter((record) => record.type === 'function')
                .filter((record) => String(record.record).includes('conformance function line'));
              assert.equal(
                shipped.length,
                invokes * functionLines,
                `${context}\n--- shipped\n${JSON.stringify(shipped)}`,
              );
            }
          } finally {
            await sink?.close();
          }
        });
      }
    });
  }
}

/**
 * A standalone TypeScript layer under RIE with a PATH that holds no node at
 * all (only the few tools the namespace set-up needs), as beside a Python or
 * provided.al2023 function: its launcher must run the node it ships.
 */
const standalone = skip === false ? await fillStandaloneCache() : { skip };
const standaloneSkip =
  'skip' in standalone
    ? standalone.skip
    : process.arch === 'x64'
      ? false
      : 'the bundled x86_64 node needs an x86_64 host';
describe('ts basic template, --standalone, under RIE with no node on PATH', { skip: standaloneSkip }, () => {
  let layer: string;
  let toolPath: string;

  before(async () => {
    const project = path.join(workspace.path, 'ts-standalone-rie');
    await createStandaloneProject(project);
    const built = await runExt(['build', '--arch', 'x86_64'], {
      cwd: project,
      env: { ...standaloneEnvironment(), ...unreachableRegistry },
      timeoutMs: 300_000,
    });
    assert.equal(built.code, 0, describeRun(built));
    layer = path.join(project, 'dist', 'x86_64');
    toolPath = path.join(workspace.path, 'tools-without-node');
    await mkdir(toolPath);
    for (const tool of ['unshare', 'sh', 'mount', 'mkdir']) {
      for (const folder of ['/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
        try {
          await symlink(path.join(folder, tool), path.join(toolPath, tool));
          break;
        } catch {
          // Not in this folder, or already linked.
        }
      }
    }
  });

  it(`runs ${invokes} invokes on its own node and shuts down cleanly`, { timeout: scaled(120_000) }, async () => {
    const run = await runUnderRie((availability as { binary: string }).binary, {
      layerDirectory: layer,
      mode: 'on-demand',
      invokes,
      functionLines,
      env: { PATH: toolPath },
      // The stand-in function runtime is a node script: it names its node, so that PATH can hold none.
      runtimeNode: process.execPath,
    });
    const context = assertEveryInvokeClean(run);
    assert.match(run.log, new RegExp(`"msg":"registered".*"node":"v${standaloneTestNodeVersion}"`), context);
    assert.doesNotMatch(run.log, /node: not found|node is not on PATH/, context);
  });
});

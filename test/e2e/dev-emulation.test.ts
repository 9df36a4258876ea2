import assert from 'node:assert/strict';
import { scaled } from '../helpers/time-scale.js';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { elfMachine, hostArchitecture, type Architecture } from '../../src/core/layer/architectures.js';
import { readBinfmtHandlers, binfmtHandlerFor } from '../../src/core/emulator/cpu-emulation/index.js';
import { findOnPath, targets } from '../../src/core/emulator/cpu-emulation/host-tools.js';
import type { EmulatorReport } from '../../src/core/emulator/index.js';
import { addNodeExtension, fixtureSource, makeLayer } from '../helpers/emulator-fixtures.js';
import { lambdaNodeVersions, nodeBinary, type NodeBinary } from '../helpers/node-versions.js';
import {
  describeRun,
  extBin,
  repositoryRoot,
  run,
  runCreate,
  runExt,
  temporaryDirectory,
  type RunResult,
} from '../helpers/run-cli.js';
import {
  createStandaloneProject,
  fillStandaloneCache,
  standaloneEnvironment,
  unreachableRegistry,
} from '../helpers/standalone-node.js';
import { buildZip } from '../helpers/zip-fixtures.js';

/**
 * `ext dev` on a layer built for the other architecture (arm64 on an x86_64
 * host, or the reverse), under the real qemu-user: generated Go layers, a
 * layer whose launcher execs a bundled foreign Node (the standalone
 * TypeScript layout), and what happens without qemu.
 */

const host: Architecture = hostArchitecture() ?? 'x86_64';
const foreign: Architecture = host === 'arm64' ? 'x86_64' : 'arm64';
const qemuName = targets[foreign].emulators[0]!;
const qemu = await findOnPath(targets[foreign].emulators, process.env['PATH'] ?? '');
const skipAll =
  process.platform !== 'linux'
    ? 'qemu user-mode emulation needs Linux'
    : qemu === undefined
      ? `${qemuName} is not on PATH (.ci/run installs Debian's qemu-user where it can)`
      : false;

let workspace: { path: string; cleanup: () => Promise<void> };
before(async () => {
  workspace = await temporaryDirectory('cle-emulation-');
});
after(async () => workspace?.cleanup());

const projects = new Map<string, Promise<string>>();
/** A generated Go project, created once per template for the tests that need it. */
function goProject(template: 'basic' | 'telemetry'): Promise<string> {
  let project = projects.get(template);
  if (project === undefined) {
    project = (async () => {
      const directory = path.join(workspace.path, `qemu-${template}`);
      const created = await runCreate([directory, '--lang', 'go', '--template', template, '--yes']);
      assert.equal(created.code, 0, describeRun(created));
      return directory;
    })();
    projects.set(template, project);
  }
  return project;
}

function parseReport(result: RunResult): EmulatorReport {
  try {
    return JSON.parse(result.stdout) as EmulatorReport;
  } catch {
    assert.fail(`ext dev printed no JSON report\n${describeRun(result)}`);
  }
}

function assertClean(report: EmulatorReport, invokes: number, result: RunResult, mode: 'qemu' | 'binfmt'): void {
  assert.deepEqual(report.verdicts, [], describeRun(result));
  assert.equal(report.status, 'passed');
  assert.equal(result.code, 0);
  assert.equal(report.invokes.length, invokes);
  assert.ok(report.invokes.every((invoke) => invoke.status === 'success'));
  assert.equal(report.cpuEmulation?.architecture, foreign);
  assert.equal(report.cpuEmulation?.hostArchitecture, host);
  assert.equal(report.cpuEmulation?.mode, mode);
  assert.equal(report.cpuEmulation?.limitFactor, 10);
  assert.ok(
    report.timeline.some((entry) => entry.kind === 'note' && entry.text.startsWith(`EMULATION ${foreign} layer`)),
    'the timeline says the timings are emulated',
  );
  assert.ok(report.shutdown?.extensions.every((extension) => extension.outcome === 'exited'));
}

describe(`generated Go layers built for ${foreign}, under ext dev --arch ${foreign}`, { skip: skipAll }, () => {
  for (const template of ['basic', 'telemetry'] as const) {
    test(
      `Go ${template}: 3 invokes, clean, every process run under ${qemuName}`,
      { timeout: scaled(300_000) },
      async () => {
        const name = `qemu-${template}`;
        const project = await goProject(template);
        const result = await runExt(
          [
            ...['dev', '--arch', foreign, '--invokes', '3', '--emulation', 'qemu', '--json'],
            ...['--function-log', 'hello from the function'],
            // A free port for the telemetry listener, so parallel test files never collide.
            ...['--env', `${name.toUpperCase().replace(/-/g, '_')}_PORT=0`],
          ],
          { cwd: project, timeoutMs: 300_000 },
        );
        const report = parseReport(result);
        assertClean(report, 3, result, 'qemu');
        assert.equal(report.cpuEmulation?.emulator, qemu);
        // A static Go binary needs no foreign libraries.
        assert.equal(report.cpuEmulation?.sysroot, undefined);
        const binary = await readFile(path.join(project, 'dist', '.dev', foreign, 'extensions', name));
        assert.equal(binary.readUInt16LE(18), elfMachine(foreign), 'the layer that ran is the foreign build');
        const extension = report.extensions.find((candidate) => candidate.name === name);
        assert.equal(extension?.state, 'Exited');
        if (template === 'telemetry') {
          const subscription = report.telemetry.subscriptions[0];
          assert.ok(subscription !== undefined && subscription.deliveredRecords > 0, 'telemetry reached the listener');
        }
      },
    );
  }

  test('--layer: the architecture comes from the ELF files; without qemu, an error or the exec format verdict', async () => {
    const project = await goProject('basic');
    const layer = path.join(project, 'dist', '.dev', foreign);
    if (!existsSync(layer)) {
      const built = await runExt(['build', '--arch', foreign, '--out', path.join('dist', '.dev')], {
        cwd: project,
        timeoutMs: 300_000,
      });
      assert.equal(built.code, 0, describeRun(built));
    }
    const detected = await runExt(['dev', '--layer', layer, '--json', '--emulation', 'qemu'], { timeoutMs: 60_000 });
    assertClean(parseReport(detected), 1, detected, 'qemu');

    // No qemu on PATH (node is started by its absolute path).
    const noQemu = { env: { PATH: path.join(workspace.path, 'empty-path') }, timeoutMs: 60_000 };
    const asked = await run(process.execPath, [extBin, 'dev', '--layer', layer, '--arch', foreign], noQemu);
    assert.equal(asked.code, 1, describeRun(asked));
    assert.equal(
      asked.stderr.split('\n')[0]?.replace(/^error\[E_\w+\]: /, 'error: '),
      `error: cannot run ${foreign} binaries on this ${host} machine: no ${qemuName} on PATH and no binfmt_misc handler for ${foreign}`,
    );
    assert.match(
      asked.stderr.split('\n')[1] ?? '',
      /^hint: install qemu-user \(Debian\/Ubuntu: sudo apt-get install qemu-user;/,
    );

    // Emulation off, or none found for a detected architecture: today's exec format error verdict.
    const cases = [['--emulation', 'off']];
    const binfmt = binfmtHandlerFor(await readBinfmtHandlers(), foreign);
    if (binfmt === undefined) cases.push([]);
    for (const flags of cases) {
      const result = await run(process.execPath, [extBin, 'dev', '--layer', layer, '--json', ...flags], noQemu);
      assert.equal(result.code, 1, describeRun(result));
      const report = parseReport(result);
      assert.equal(report.cpuEmulation, undefined);
      assert.deepEqual(
        report.verdicts.map((verdict) => verdict.errorType),
        ['Extension.LaunchError'],
      );
      assert.match(
        report.verdicts[0]!.message,
        new RegExp(`exec format error \\(the binary is built for ${foreign}, the function runs ${host}\\)`),
      );
      if (flags.length === 0) {
        assert.match(result.stderr, new RegExp(`^warning: .* is an ${foreign} layer .*install qemu-user`, 'm'));
      }
    }

    // The reverse: a layer built for this machine, in a function of the other architecture, fails as on Lambda.
    const built = await runExt(['build', '--arch', host], { cwd: project, timeoutMs: 300_000 });
    assert.equal(built.code, 0, describeRun(built));
    const wrong = await runExt(['dev', '--layer', path.join(project, 'dist', host), '--arch', foreign, '--json'], {
      timeoutMs: 60_000,
    });
    assert.equal(wrong.code, 1, describeRun(wrong));
    assert.match(
      parseReport(wrong).verdicts[0]?.message ?? '',
      new RegExp(`exec format error \\(the binary is built for ${host}, the function runs ${foreign}\\)`),
    );
  });
});

/**
 * The standalone TypeScript layout: extensions/<name> is a sh launcher that
 * execs <name>/bin/node, a foreign dynamic Node that needs that
 * architecture's glibc and libstdc++ (qemu -L).
 */
async function foreignNodeLayer(node: NodeBinary, folder: string): Promise<Buffer> {
  const script = fixtureSource({ registerAs: 'node-ext', events: ['INVOKE', 'SHUTDOWN'] }).replace(
    "'use strict';",
    "'use strict';\nconsole.log('running on ' + process.arch + ' as ' + process.argv0);",
  );
  const launcher = '#!/bin/sh\nexec "${0%/*}/../node-ext/bin/node" "${0%/*}/../node-ext/index.cjs"\n';
  const nodeBytes = await readFile(node.node);
  await mkdir(path.join(folder, 'extensions'), { recursive: true });
  await mkdir(path.join(folder, 'node-ext', 'bin'), { recursive: true });
  await writeFile(path.join(folder, 'extensions', 'node-ext'), launcher, { mode: 0o755 });
  await writeFile(path.join(folder, 'node-ext', 'index.cjs'), script);
  await writeFile(path.join(folder, 'node-ext', 'bin', 'node'), nodeBytes, { mode: 0o755 });
  return buildZip([
    { name: 'extensions/', mode: 0o40755 },
    { name: 'extensions/node-ext', data: launcher, mode: 0o100755 },
    { name: 'node-ext/', mode: 0o40755 },
    { name: 'node-ext/index.cjs', data: script, mode: 0o100644 },
    { name: 'node-ext/bin/', mode: 0o40755 },
    // Stored: deflating 100 MB in a test helper is slow, and the zip is read the same way.
    { name: 'node-ext/bin/node', data: nodeBytes, mode: 0o100755, method: 0 },
  ]);
}

describe(`a layer that execs a bundled ${foreign} Node (standalone TypeScript layout)`, { skip: skipAll }, () => {
  const nodeVersion = lambdaNodeVersions[0];
  let node: NodeBinary | undefined;
  let skip: string | undefined;
  let folder: string;
  let zip: string;
  before(async () => {
    const found = await nodeBinary(nodeVersion, foreign);
    if ('skip' in found) {
      skip = found.skip;
      return;
    }
    node = found.binary;
    folder = path.join(workspace.path, 'node-layer');
    zip = path.join(workspace.path, 'node-ext-layer.zip');
    await writeFile(zip, await foreignNodeLayer(node, folder));
  });

  const sysroot = targets[foreign].sysroots[0]!;
  const librariesMissing = ['libc.so.6', 'libstdc++.so.6'].some(
    (library) => !existsSync(path.join(sysroot, 'lib', library)),
  );

  function assertNodeRan(report: EmulatorReport, result: RunResult, mode: 'qemu' | 'binfmt'): void {
    assertClean(report, 2, result, mode);
    assert.equal(report.cpuEmulation?.sysroot, sysroot);
    const lines = report.timeline.filter((entry) => entry.kind === 'output').map((entry) => entry.text);
    assert.ok(
      lines.some((line) => line.startsWith(`[node-ext] running on ${foreign === 'arm64' ? 'arm64' : 'x64'} as `)),
      lines.join('\n'),
    );
  }

  test(
    `a zip (architecture from the ELF files) runs clean on Node ${nodeVersion} for ${foreign}`,
    { timeout: scaled(300_000) },
    async (context) => {
      if (skip !== undefined || librariesMissing) {
        context.skip(
          skip ?? `the ${foreign} C and C++ libraries are not in ${sysroot} (${targets[foreign].libraryPackages})`,
        );
        return;
      }
      const result = await runExt(['dev', '--layer', zip, '--invokes', '2', '--emulation', 'qemu', '--json'], {
        timeoutMs: 120_000,
      });
      assertNodeRan(parseReport(result), result, 'qemu');
    },
  );

  test(
    'a folder runs the same, from a private copy: the folder keeps its own node',
    { timeout: scaled(300_000) },
    async (context) => {
      if (skip !== undefined || librariesMissing) {
        context.skip(skip ?? `the ${foreign} C and C++ libraries are not in ${sysroot}`);
        return;
      }
      const result = await runExt(['dev', '--layer', folder, '--invokes', '2', '--emulation', 'qemu', '--json'], {
        timeoutMs: 120_000,
      });
      assertNodeRan(parseReport(result), result, 'qemu');
      const kept = await readFile(path.join(folder, 'node-ext', 'bin', 'node'));
      assert.equal(kept.readUInt16LE(18), elfMachine(foreign));
      assert.equal(existsSync(path.join(folder, 'node-ext', 'bin', `.node.ext-dev-${foreign}`)), false);
    },
  );

  test('missing foreign libraries: one line naming what is missing and how to install it, exit 1', async (context) => {
    if (skip !== undefined) {
      context.skip(skip);
      return;
    }
    const empty = path.join(workspace.path, 'empty-root');
    await mkdir(empty, { recursive: true });
    const result = await runExt(['dev', '--layer', zip, '--emulation', 'qemu'], {
      env: { QEMU_LD_PREFIX: empty },
      timeoutMs: 60_000,
    });
    assert.equal(result.code, 1, describeRun(result));
    const [error, hint] = result.stderr.split('\n');
    assert.match(
      error ?? '',
      new RegExp(
        `^error\\[E_\\w+\\]: node-ext/bin/node is a dynamic ${foreign} executable, and its loader /lib\\S* is not in ${empty}`,
      ),
    );
    assert.ok((hint ?? '').includes(`sudo apt-get install ${targets[foreign].libraryPackages}`), hint);
  });

  /**
   * binfmt mode, for real: since Linux 6.7 each user namespace can mount its
   * own binfmt_misc, so the handler registered here is seen by this run only,
   * never by the machine.
   */
  test(
    'binfmt_misc mode, in a private user namespace: the kernel runs the foreign files, no wrappers',
    { timeout: scaled(300_000) },
    async (context) => {
      if (skip !== undefined || librariesMissing) {
        context.skip(skip ?? `the ${foreign} C and C++ libraries are not in ${sysroot}`);
        return;
      }
      const mount = 'mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc';
      const probe = spawnSync(
        'unshare',
        ['--user', '--map-root-user', '--mount', 'sh', '-c', `${mount} && test -w /proc/sys/fs/binfmt_misc/register`],
        { stdio: 'ignore' },
      );
      if (probe.status !== 0) {
        context.skip(
          'this kernel gives no private binfmt_misc to a user namespace (Linux 6.7+ with user namespaces needed)',
        );
        return;
      }
      const magic = `\\x7fELF\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\x${elfMachine(foreign).toString(16).padStart(2, '0')}\\x00`;
      const mask =
        '\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff';
      const register = `printf '%b' ':ext-dev-test:M::${magic}:${mask}:${qemu}:F' > /proc/sys/fs/binfmt_misc/register`;
      const script = `${mount} && ${register} && exec "$0" "$@"`;
      const result = await run(
        'unshare',
        [
          '--user',
          '--map-root-user',
          '--mount',
          'sh',
          '-c',
          script,
          process.execPath,
          extBin,
          'dev',
          '--layer',
          folder,
          '--invokes',
          '2',
          '--json',
        ],
        { timeoutMs: 120_000 },
      );
      const report = parseReport(result);
      assertNodeRan(report, result, 'binfmt');
      assert.equal(report.cpuEmulation?.emulator, qemu);
      assert.equal(existsSync(path.join(folder, 'node-ext', 'bin', `.node.ext-dev-${foreign}`)), false);
    },
  );
});

test('library API: under CPU emulation the limits on extensions scale, and a verdict names both figures', async () => {
  const { runEmulator } = (await import(
    path.join(repositoryRoot, 'build/src/core/emulator/index.js')
  )) as typeof import('../../src/core/emulator/index.js');
  const layer = await makeLayer();
  try {
    // A script runs natively whatever the emulation: only the limits change.
    await addNodeExtension(layer, 'silent', { neverRegister: true });
    const report = await runEmulator({
      layerDirectory: layer,
      initTimeoutMs: 50,
      cpuEmulation: {
        architecture: foreign,
        hostArchitecture: host,
        mode: 'binfmt',
        emulator: `/usr/bin/${qemuName}`,
        limitFactor: 4,
      },
    });
    assert.equal(report.status, 'failed');
    assert.equal(report.cpuEmulation?.limitFactor, 4);
    assert.equal(
      report.verdicts[0]?.message,
      'extensions/silent never called /extension/register within the 200 ms (50 ms ×4 under CPU emulation) Init limit',
    );
    assert.ok(report.timeline.some((entry) => entry.text.startsWith(`EMULATION ${foreign} layer on an ${host} host`)));
  } finally {
    await rm(layer, { recursive: true, force: true });
  }
});

/**
 * The real thing the previous block imitates: a generated standalone
 * TypeScript project, built by ext dev for the other architecture (its
 * bundled node stripped), run under qemu with no node on the extension's PATH.
 */
describe(`a generated standalone TypeScript project under ext dev --arch ${foreign}`, { skip: skipAll }, () => {
  const sysroot = targets[foreign].sysroots[0]!;
  test(
    'builds the foreign layer with its own node and runs it clean, with the sysroot in the report',
    { timeout: scaled(600_000) },
    async (context) => {
      const availability = await fillStandaloneCache();
      if ('skip' in availability) {
        context.skip(availability.skip);
        return;
      }
      if (['libc.so.6', 'libstdc++.so.6'].some((library) => !existsSync(path.join(sysroot, 'lib', library)))) {
        context.skip(`the ${foreign} C and C++ libraries are not in ${sysroot} (${targets[foreign].libraryPackages})`);
        return;
      }
      const name = 'qemu-solo';
      const project = path.join(workspace.path, name);
      await createStandaloneProject(project);
      const result = await runExt(
        ['dev', '--no-function', '--arch', foreign, '--invokes', '2', '--emulation', 'qemu', '--json'],
        {
          cwd: project,
          // The node is cached: a registry nobody answers on proves nothing is fetched.
          env: { ...standaloneEnvironment(), ...unreachableRegistry },
          timeoutMs: 600_000,
        },
      );
      const report = parseReport(result);
      assertClean(report, 2, result, 'qemu');
      assert.equal(report.cpuEmulation?.sysroot, sysroot);
      assert.ok(
        report.timeline.some((entry) => entry.kind === 'note' && entry.text.startsWith('standalone layer:')),
        'the extension ran with a PATH without node',
      );
      const layer = path.join(project, 'dist', '.dev', foreign);
      const bundled = await readFile(path.join(layer, name, 'bin', 'node'));
      assert.equal(bundled.readUInt16LE(18), elfMachine(foreign), 'the node that ran is the foreign build');
      assert.equal(report.extensions.find((extension) => extension.name === name)?.state, 'Exited');
    },
  );
});

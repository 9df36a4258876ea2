import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { architectureOfElfMachine } from '../../src/core/layer/architectures.js';
import { readWithYauzl, zipinfo } from '../helpers/layer-fixtures.js';
import { describeRun, runCreate, runExt, temporaryDirectory } from '../helpers/run-cli.js';

/**
 * The whole product path for each language: scaffold, pack (which builds
 * both architectures), read the zips with two independent readers, inspect
 * them, and run the layer under the emulator.
 */
let workspace: { path: string; cleanup: () => Promise<void> };
before(async () => {
  workspace = await temporaryDirectory('cle-templates-');
});
after(async () => workspace.cleanup());

function elfFacts(data: Buffer): { machine: number; hasInterpreter: boolean } {
  const programHeaderOffset = Number(data.readBigUInt64LE(0x20));
  const entrySize = data.readUInt16LE(0x36);
  let hasInterpreter = false;
  for (let index = 0; index < data.readUInt16LE(0x38); index += 1) {
    if (data.readUInt32LE(programHeaderOffset + index * entrySize) === 3) hasInterpreter = true;
  }
  return { machine: data.readUInt16LE(0x12), hasInterpreter };
}

for (const language of ['go', 'ts'] as const) {
  describe(`${language} basic template, end to end`, () => {
    const name = `${language}-e2e`;
    let project: string;

    it('scaffolds and packs both architectures into verified zips', async () => {
      project = path.join(workspace.path, name);
      const created = await runCreate([project, '--lang', language, '--yes']);
      assert.equal(created.code, 0, describeRun(created));
      const packed = await runExt(['pack', '--json'], { cwd: project, timeoutMs: 300_000 });
      assert.equal(packed.code, 0, describeRun(packed));
      const result = JSON.parse(packed.stdout);
      assert.deepEqual(
        result.layers.map((layer: { architecture: string }) => layer.architecture),
        ['x86_64', 'arm64'],
      );

      for (const architecture of ['x86_64', 'arm64'] as const) {
        const zipPath = path.join(project, 'dist', `${name}-${architecture}.zip`);
        const listing = await zipinfo(zipPath);
        const entries = await readWithYauzl(zipPath);
        const names = entries.map((entry) => entry.name);
        const expected =
          language === 'go'
            ? ['extensions/', `extensions/${name}`]
            : ['extensions/', `${name}/`, `extensions/${name}`, `${name}/index.mjs`];
        assert.deepEqual(names, expected);
        for (const entry of entries) {
          assert.equal(entry.versionMadeBy >> 8, 3, `${entry.name} made by Unix`);
          assert.deepEqual(entry.extraFieldIds, [], `${entry.name} has no extra fields`);
          const mode = (entry.externalFileAttributes >>> 16) & 0o777;
          assert.equal(mode, 0o755, `${entry.name} is 0755`);
        }
        assert.ok(
          listing.every((line) => line.includes(' unx ') && line.includes('80-Jan-01 00:00')),
          listing.join('\n'),
        );
        const launcher = entries.find((entry) => entry.name === `extensions/${name}`)!;
        if (language === 'go') {
          const facts = elfFacts(launcher.data);
          assert.equal(architectureOfElfMachine(facts.machine), architecture);
          assert.equal(facts.hasInterpreter, false);
        } else {
          assert.ok(launcher.data.toString().startsWith('#!/bin/sh\n'));
          assert.ok(!launcher.data.includes('\r'));
        }
        const inspected = await runExt(['inspect', zipPath, '--json']);
        assert.equal(inspected.code, 0, describeRun(inspected));
        const report = JSON.parse(inspected.stdout);
        assert.deepEqual(
          report.findings.filter((finding: { severity: string }) => finding.severity === 'error'),
          [],
        );
      }
    });

    it('runs clean under ext dev --invokes 5', async () => {
      const dev = await runExt(['dev', '--invokes', '5', '--json'], { cwd: project, timeoutMs: 120_000 });
      assert.equal(dev.code, 0, describeRun(dev));
      const report = JSON.parse(dev.stdout);
      assert.equal(report.status, 'passed');
      assert.deepEqual(report.verdicts, []);
      assert.equal(report.invokes.length, 5);
      assert.equal(report.extensions.length, 1);
      assert.equal(report.extensions[0].name, name);
      assert.deepEqual(report.extensions[0].events, ['INVOKE', 'SHUTDOWN']);
      assert.equal(report.extensions[0].exitCode, 0);
    });

    if (language === 'ts') {
      // An APM layer (Sentry's) puts a --require preload in the function's NODE_OPTIONS; the launcher must keep it away.
      it("the function's NODE_OPTIONS preload never reaches the extension: it registers and passes", async () => {
        const throwing = path.join(workspace.path, 'throwing-preload.cjs');
        await writeFile(
          throwing,
          "if (!process.env.LAMBDA_TASK_ROOT) throw new Error('preload ran without LAMBDA_TASK_ROOT');\n",
        );
        for (const preload of ['/nonexistent', throwing]) {
          const dev = await runExt(['dev', '--invokes', '1', '--json', '--env', `NODE_OPTIONS=--require=${preload}`], {
            cwd: project,
            timeoutMs: 120_000,
          });
          assert.equal(dev.code, 0, `${preload}: ${describeRun(dev)}`);
          const report = JSON.parse(dev.stdout);
          assert.equal(report.status, 'passed', preload);
          assert.deepEqual(report.extensions[0].events, ['INVOKE', 'SHUTDOWN'], preload);
          assert.equal(report.extensions[0].exitCode, 0, preload);
        }
      });
    }
  });
}

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hostArchitecture } from '../../src/core/layer/architectures.js';
import type { EmulatorReport } from '../../src/core/emulator/index.js';
import { lambdaNodeVersions, nodeBinary, environmentWith } from '../helpers/node-versions.js';
import { describeRun, extBin, repositoryRoot, run, runCreate, temporaryDirectory } from '../helpers/run-cli.js';
import { onlyInTestAll } from '../helpers/tiers.js';

/**
 * Lambda runs a TypeScript extension on the function's node (nodejs22.x,
 * nodejs24.x). For each TS template: its own `npm test` with each pinned node
 * first on PATH (and at least one test must have run), then the CLI on that
 * node builds the layer and runs it under `ext dev`, whose launcher runs the
 * same node (the emulator puts the directory of the node running it on PATH).
 * npm test runs each template on one of the versions and each version once;
 * npm run test:all every pair.
 */
let workspace: { path: string; cleanup: () => Promise<void> };
let sharedModules: string | undefined;
before(async () => {
  workspace = await temporaryDirectory('cle-node-versions-');
});
after(async () => workspace?.cleanup());

const templates = ['basic', 'telemetry'] as const;
for (const template of templates) {
  describe(`TypeScript ${template} template on Lambda's node versions`, () => {
    const name = `ts-${template}-nodes`;
    let project: string;

    before(async () => {
      project = path.join(workspace.path, name);
      const created = await runCreate([project, '--lang', 'ts', '--template', template, '--yes']);
      assert.equal(created.code, 0, describeRun(created));
      if (sharedModules === undefined) {
        // Install once, pointing the toolkit at this checkout rather than the registry.
        const set = await run('npm', ['pkg', 'set', `devDependencies.create-lambda-extension=file:${repositoryRoot}`], {
          cwd: project,
        });
        assert.equal(set.code, 0, describeRun(set));
        const install = await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
          cwd: project,
          timeoutMs: 300_000,
        });
        assert.equal(install.code, 0, describeRun(install));
        sharedModules = path.join(project, 'node_modules');
      } else {
        await symlink(sharedModules, path.join(project, 'node_modules'), 'dir');
      }
    });

    it(
      "npm run build type-checks: a type error stops it with the compiler's message, and no layer is written",
      // ext build's type check does not depend on the template: one template in npm test, both in test:all.
      { skip: template === 'basic' ? false : onlyInTestAll('the basic template checks the same type check') },
      async () => {
        const broken = path.join(project, 'src', 'broken.ts');
        await writeFile(broken, 'export const answer: number = "forty-two";\n');
        try {
          const built = await run('npm', ['run', 'build'], {
            cwd: project,
            // ext build's own type check, which the test helper turns off by default.
            env: { NODE_TEST_CONTEXT: undefined, CREATE_LAMBDA_EXTENSION_TYPECHECK: '' },
            timeoutMs: 120_000,
          });
          assert.notEqual(built.code, 0, describeRun(built));
          assert.match(built.stdout + built.stderr, /src\/broken\.ts.*error TS2322/);
          // ext build checks types beside esbuild: it may make dist/, but writes no layer.
          assert.equal(existsSync(path.join(project, 'dist', 'x86_64')), false, 'no layer was written');
        } finally {
          await rm(broken);
        }
      },
    );

    for (const version of lambdaNodeVersions) {
      // npm test runs the diagonal of templates × Lambda's node versions (each template once, each node once);
      // npm run test:all the whole matrix.
      const diagonal = lambdaNodeVersions.indexOf(version) % 2 === templates.indexOf(template) % 2;
      const skip = diagonal ? false : onlyInTestAll(`the ${template} template runs on another node in npm test`);
      it(`passes its own npm test, builds, and runs under ext dev on node ${version}`, { skip }, async (t) => {
        const found = await nodeBinary(version);
        if ('skip' in found) {
          t.skip(found.skip);
          return;
        }
        const { binary } = found;
        // Without NODE_TEST_CONTEXT (set by the node --test running this file), or the
        // project's own node --test would see a nested run and skip every file.
        const env = { ...environmentWith(binary), NODE_TEST_CONTEXT: undefined };

        const test = await run('npm', ['test'], { cwd: project, env, timeoutMs: 240_000 });
        assert.equal(test.code, 0, describeRun(test));
        const passed = Number(/^(?:# |ℹ )pass (\d+)$/m.exec(test.stdout)?.[1] ?? 0);
        assert.ok(passed >= 10, `only ${passed} tests ran on node ${version}\n${describeRun(test)}`);
        assert.match(test.stdout, /^(?:# |ℹ )fail 0$/m);
        // A test that mixes a fake clock with real deadlines gets node's TimeoutOverflowWarning.
        assert.doesNotMatch(test.stdout + test.stderr, /Warning/, 'the tests run without node warnings');

        const architecture = hostArchitecture() ?? 'x86_64';
        const built = await run(binary.node, [extBin, 'build', '--arch', architecture], {
          cwd: project,
          env,
          timeoutMs: 120_000,
        });
        assert.equal(built.code, 0, describeRun(built));

        const dev = await run(
          binary.node,
          [extBin, 'dev', '--layer', path.join('dist', architecture), '--invokes', '3', '--json'],
          {
            cwd: project,
            env,
            timeoutMs: 120_000,
          },
        );
        assert.equal(dev.code, 0, describeRun(dev));
        const report = JSON.parse(dev.stdout) as EmulatorReport;
        assert.equal(report.status, 'passed');
        assert.deepEqual(report.verdicts, []);
        assert.equal(report.invokes.length, 3);
        const registered = report.timeline
          .filter((entry) => entry.kind === 'output' && entry.extension === name)
          .map(
            (entry) =>
              JSON.parse((entry as { text: string }).text.slice(`[${name}] `.length)) as Record<string, unknown>,
          )
          .find((line) => line['msg'] === 'registered');
        assert.equal(registered?.['node'], `v${version}`, 'the extension ran on the pinned node');
        const shutdown = report.shutdown?.extensions.find((extension) => extension.name === name);
        assert.equal(shutdown?.outcome, 'exited');
        assert.equal(shutdown?.exitCode, 0);
      });
    }
  });
}

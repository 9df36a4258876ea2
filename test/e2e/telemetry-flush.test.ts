import assert from 'node:assert/strict';
import { symlink } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { lambdaNodeVersions, nodeBinary } from '../helpers/node-versions.js';
import { describeRun, repositoryRoot, run, runCreate, temporaryDirectory } from '../helpers/run-cli.js';
import { scaled } from '../helpers/time-scale.js';

/**
 * Issue 31 ("done when"): the flush strategies of the telemetry templates are tested on both of Lambda's Node
 * versions and with Go's race detector. test/e2e/node-versions.test.ts runs the TypeScript telemetry template's
 * whole npm test on one of the versions in npm test (all of them in test:all); here its flush, handler and
 * config tests run on every version, compiled once with this checkout's TypeScript, and the Go template's tests
 * run under `go test -race`, where the strategies' goroutines (timer, continuous loop, invoke) meet.
 */
let workspace: { path: string; cleanup: () => Promise<void> };
before(async () => {
  workspace = await temporaryDirectory('cle-telemetry-flush-');
});
after(async () => workspace?.cleanup());

describe('TypeScript telemetry template: the flush tests on every Lambda node version', () => {
  let project: string;
  before(async () => {
    project = path.join(workspace.path, 'ts-flush');
    const created = await runCreate([project, '--lang', 'ts', '--template', 'telemetry', '--yes']);
    assert.equal(created.code, 0, describeRun(created));
    // typescript, @types/node and fast-check, as the project's devDependencies would install them.
    await symlink(path.join(repositoryRoot, 'node_modules'), path.join(project, 'node_modules'), 'dir');
    const compiled = await run(
      process.execPath,
      [path.join(project, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.test.json'],
      {
        cwd: project,
        timeoutMs: 120_000,
      },
    );
    assert.equal(compiled.code, 0, describeRun(compiled));
  });

  for (const version of lambdaNodeVersions) {
    it(`flush, handlers and config tests pass on node ${version}`, { timeout: scaled(300_000) }, async (t) => {
      const found = await nodeBinary(version);
      if ('skip' in found) {
        t.skip(found.skip);
        return;
      }
      const files = ['flush', 'handlers', 'config'].map((name) => path.join('test', `${name}.test.js`));
      const result = await run(found.binary.node, ['--test', ...files], {
        cwd: path.join(project, '.test-build'),
        // Without NODE_TEST_CONTEXT, or the nested node --test would skip every file.
        env: { NODE_TEST_CONTEXT: undefined },
        timeoutMs: 240_000,
      });
      assert.equal(result.code, 0, describeRun(result));
      const passed = Number(/^(?:# |ℹ )pass (\d+)$/mu.exec(result.stdout)?.[1] ?? 0);
      assert.ok(passed >= 20, `only ${passed} tests ran on node ${version}\n${describeRun(result)}`);
      assert.match(result.stdout, /^(?:# |ℹ )fail 0$/mu);
    });
  }
});

describe('Go telemetry template: its tests under the race detector', () => {
  it('go test -race ./... passes', { timeout: scaled(600_000) }, async (t) => {
    const cgo = await run('go', ['env', 'CGO_ENABLED']);
    if (cgo.code !== 0 || cgo.stdout.trim() !== '1') {
      t.skip('go test -race needs cgo (CGO_ENABLED=1 and a C compiler)');
      return;
    }
    const project = path.join(workspace.path, 'go-flush');
    const created = await runCreate([project, '--lang', 'go', '--template', 'telemetry', '--yes']);
    assert.equal(created.code, 0, describeRun(created));
    const result = await run('go', ['test', '-race', '-count=1', './...'], { cwd: project, timeoutMs: 540_000 });
    if (result.code !== 0 && /-race requires cgo|C compiler .* not found/u.test(result.stderr + result.stdout)) {
      t.skip('go test -race needs a C compiler');
      return;
    }
    assert.equal(result.code, 0, describeRun(result));
    assert.doesNotMatch(result.stdout + result.stderr, /WARNING: DATA RACE/u);
  });
});

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { describeRun, repositoryRoot, runNode, temporaryDirectory } from '../helpers/run-cli.js';

/** The README's main-job command, as `npm run example` runs it after the build. */
describe('npm run example', () => {
  let workspace: { path: string; cleanup: () => Promise<void> };
  before(async () => {
    workspace = await temporaryDirectory('cle-example-');
  });
  after(async () => workspace.cleanup());

  it('scaffolds, builds and packs both examples and prints the pack tables', async () => {
    const directory = path.join(workspace.path, 'example');
    const script = path.join(repositoryRoot, 'build', 'scripts', 'example.js');
    const result = await runNode(script, [directory], { timeoutMs: 300_000 });
    assert.equal(result.code, 0, describeRun(result));
    for (const name of ['go-example', 'ts-example']) {
      for (const architecture of ['x86_64', 'arm64']) {
        assert.ok(
          existsSync(path.join(directory, name, 'dist', `${name}-${architecture}.zip`)),
          `${name} ${architecture}`,
        );
      }
      assert.match(result.stdout, new RegExp(`${name} 0\\.1\\.0 packed`));
    }
    const again = await runNode(script, [directory], { timeoutMs: 300_000 });
    assert.equal(again.code, 0, `a second run replaces its own output\n${describeRun(again)}`);
  });

  it('refuses to replace a folder it did not make', async () => {
    const result = await runNode(path.join(repositoryRoot, 'build', 'scripts', 'example.js'), [workspace.path]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /exists and was not made by this script/);
  });
});

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { describeRun, run, runCreate, runExt, temporaryDirectory } from '../helpers/run-cli.js';

/**
 * ext rename: the name in lambda-extension.json, its settings prefix and every
 * file that names them change together, the old zips go, and the project's own
 * checks still pass; --dry-run lists the same files and writes nothing.
 */
describe('ext rename', () => {
  let workspace: { path: string; cleanup: () => Promise<void> };
  let project: string;
  before(async () => {
    workspace = await temporaryDirectory('cle-rename-');
    project = path.join(workspace.path, 'my-ext');
    const created = await runCreate([project, '--lang', 'go', '--ci', 'none', '--yes'], { timeoutMs: 300_000 });
    assert.equal(created.code, 0, describeRun(created));
    const packed = await runExt(['pack'], { cwd: project, timeoutMs: 300_000 });
    assert.equal(packed.code, 0, describeRun(packed));
  });
  after(async () => workspace?.cleanup());

  it('refuses a name Lambda would refuse, with exit code 2', async () => {
    const bad = await runExt(['rename', 'no spaces'], { cwd: project });
    assert.equal(bad.code, 2, describeRun(bad));
    assert.match(bad.stderr, /^error\[E_RENAME_NAME_INVALID\]: NEW: /m);
  });

  it('--dry-run lists the files and the old zips, and writes nothing', async () => {
    const config = await readFile(path.join(project, 'lambda-extension.json'), 'utf8');
    const dry = await runExt(['rename', 'renamed-ext', '--dry-run', '--json'], { cwd: project });
    assert.equal(dry.code, 0, describeRun(dry));
    const result = JSON.parse(dry.stdout) as { changed: string[]; removed: string[] };
    for (const file of ['lambda-extension.json', 'package.json', 'settings.go', 'README.md'])
      assert.ok(result.changed.includes(file), file);
    assert.deepEqual(result.removed.sort(), ['dist/my-ext-arm64.zip', 'dist/my-ext-x86_64.zip']);
    assert.equal(await readFile(path.join(project, 'lambda-extension.json'), 'utf8'), config);
    assert.ok(existsSync(path.join(project, 'dist', 'my-ext-x86_64.zip')));
  });

  it('renames everywhere, removes the old zips, and the project still passes its own tests', async () => {
    const renamed = await runExt(['rename', 'renamed-ext'], { cwd: project });
    assert.equal(renamed.code, 0, describeRun(renamed));
    assert.match(renamed.stdout, /changed settings\.go/);
    const config = JSON.parse(await readFile(path.join(project, 'lambda-extension.json'), 'utf8')) as {
      name: string;
    };
    assert.equal(config.name, 'renamed-ext');
    const settings = await readFile(path.join(project, 'settings.go'), 'utf8');
    assert.match(settings, /RENAMED_EXT_/);
    assert.doesNotMatch(settings, /MY_EXT_|my-ext/);
    assert.ok(!existsSync(path.join(project, 'dist', 'my-ext-x86_64.zip')), 'the old zips are gone');
    const inspected = await runExt(['inspect'], { cwd: project });
    assert.equal(inspected.code, 1, 'nothing passes until the new zips are packed');
    assert.match(inspected.stderr, /^error\[E_PACK_ZIPS_MISSING\]: /m);
    const tested = await run('go', ['test', './...'], { cwd: project, timeoutMs: 300_000 });
    assert.equal(tested.code, 0, describeRun(tested));
    const packed = await runExt(['pack'], { cwd: project, timeoutMs: 300_000 });
    assert.equal(packed.code, 0, describeRun(packed));
    assert.equal((await runExt(['inspect'], { cwd: project })).code, 0);
  });
});

import assert from 'node:assert/strict';
import { scaled } from '../helpers/time-scale.js';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { OutputDirectory } from '../../src/core/output-ownership.js';
import { withCode } from '../helpers/error-code.js';
import { runExt, temporaryDirectory, writeProject } from '../helpers/layer-fixtures.js';

/** A TypeScript project: esbuild builds it in well under a second, so each case stays fast. */
async function tsProject(prefix: string): Promise<string> {
  const project = path.join(await temporaryDirectory(prefix), 'project');
  await writeProject(project, { name: 'demo', language: 'ts', entry: 'src/index.ts' });
  await mkdir(path.join(project, 'src'), { recursive: true });
  await writeFile(path.join(project, 'src', 'index.ts'), 'console.log("extension");\n');
  return project;
}

const noStackTrace = (stderr: string): void => assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');

describe('--out never removes or replaces what the toolkit did not write', { timeout: scaled(120_000) }, () => {
  test('the filesystem root, the project itself and its ancestors are refused, also through a symlink', async () => {
    const project = await tsProject('out-danger-');
    const alias = path.join(path.dirname(project), 'alias');
    await symlink(path.dirname(project), alias);
    // The root is checked on the core function, which writes nothing even if the check were lost;
    // the bin would write /x86_64 as root if it ever regressed.
    await assert.rejects(OutputDirectory.open(project, '/'), withCode('E_OUT_REFUSED'));
    const cases: [string, RegExp][] = [
      ['.', /.*\/project: /],
      ['..', /.*-\w+: /],
      [alias, /.*\/alias \(.*\): /],
    ];
    for (const command of ['build', 'pack']) {
      for (const [out, message] of cases) {
        const result = await runExt([command, '--out', out], { cwd: project, timeoutMs: 30_000 });
        assert.equal(result.code, 1, `${command} --out ${out}: ${result.stderr}`);
        assert.match(
          result.stderr,
          new RegExp(`^error\\[E_OUT_REFUSED\\]: --out: refusing to write into ${message.source}`, 'm'),
        );
        noStackTrace(result.stderr);
      }
    }
    assert.deepEqual((await readdir(project)).sort(), ['lambda-extension.json', 'src']);
  });

  test("a folder, manifest.json or zip of the user's in --out is refused by name and kept", async () => {
    const project = await tsProject('out-foreign-');
    const out = path.join(project, 'site');
    await mkdir(path.join(out, 'x86_64'), { recursive: true });
    await writeFile(path.join(out, 'x86_64', 'main.go'), 'package main\n');
    const build = await runExt(['build', '--out', 'site'], { cwd: project, timeoutMs: 30_000 });
    assert.equal(build.code, 1, build.stderr);
    assert.match(build.stderr, /^error\[E_OUT_NOT_OWNED\]: --out: .*site\/x86_64 /m);
    assert.equal(await readFile(path.join(out, 'x86_64', 'main.go'), 'utf8'), 'package main\n');
    assert.equal(existsSync(path.join(out, 'arm64')), false, 'nothing built when one folder is refused');

    await rm(path.join(out, 'x86_64'), { recursive: true });
    await writeFile(path.join(out, 'manifest.json'), '{"short_name":"my web app"}\n');
    const pack = await runExt(['pack', '--out', 'site'], { cwd: project, timeoutMs: 30_000 });
    assert.equal(pack.code, 1, pack.stderr);
    assert.match(pack.stderr, /^error\[E_OUT_NOT_OWNED\]: --out: .*site\/manifest\.json /m);
    assert.equal(await readFile(path.join(out, 'manifest.json'), 'utf8'), '{"short_name":"my web app"}\n');

    await rm(path.join(out, 'manifest.json'));
    await writeFile(path.join(out, 'demo-arm64.zip'), 'my own zip');
    const zip = await runExt(['pack', '--out', 'site'], { cwd: project, timeoutMs: 30_000 });
    assert.equal(zip.code, 1, zip.stderr);
    assert.match(zip.stderr, /^error\[E_OUT_NOT_OWNED\]: --out: .*site\/demo-arm64\.zip /m);
    assert.equal(await readFile(path.join(out, 'demo-arm64.zip'), 'utf8'), 'my own zip');

    // A marker that is not ours is not trusted either.
    await rm(path.join(out, 'demo-arm64.zip'));
    await writeFile(path.join(out, '.ext-output.json'), '{"entries":["x86_64"]}');
    const marker = await runExt(['build', '--out', 'site'], { cwd: project, timeoutMs: 30_000 });
    assert.equal(marker.code, 1, marker.stderr);
    assert.match(marker.stderr, /^error\[E_OUT_NOT_OWNED\]: --out: .*site\/\.ext-output\.json /m);
    noStackTrace(build.stderr + pack.stderr + zip.stderr + marker.stderr);
  });

  test('a forged marker, or a listed folder whose contents changed, does not make ext build replace it', async () => {
    const project = await tsProject('out-forged-');
    const out = path.join(project, 'site');
    await mkdir(path.join(out, 'x86_64'), { recursive: true });
    await writeFile(path.join(out, 'x86_64', 'thesis.txt'), 'years of work');
    // A marker in the toolkit's own format that lists the user's folder.
    const forged = { tool: 'create-lambda-extension', note: '', entries: ['x86_64'] };
    await writeFile(path.join(out, '.ext-output.json'), JSON.stringify(forged));
    const listed = await runExt(['build', '--out', 'site', '--arch', 'x86_64'], { cwd: project, timeoutMs: 30_000 });
    assert.equal(listed.code, 1, listed.stderr);
    assert.match(listed.stderr, /^error\[E_OUT_NOT_OWNED\]: --out: .*site\/x86_64 /m);
    assert.equal(await readFile(path.join(out, 'x86_64', 'thesis.txt'), 'utf8'), 'years of work');
    // Fingerprints copied from another build do not match this folder either.
    const fingerprinted = { ...forged, fingerprints: { x86_64: ['sha256:' + '0'.repeat(64)] } };
    await writeFile(path.join(out, '.ext-output.json'), JSON.stringify(fingerprinted));
    const copied = await runExt(['build', '--out', 'site', '--arch', 'x86_64'], { cwd: project, timeoutMs: 30_000 });
    assert.equal(copied.code, 1, copied.stderr);
    assert.match(copied.stderr, /^error\[E_OUT_NOT_OWNED\]: --out: .*site\/x86_64 /m);
    assert.equal(await readFile(path.join(out, 'x86_64', 'thesis.txt'), 'utf8'), 'years of work');

    // What build wrote is replaced on the next build, until something in it changes.
    await rm(out, { recursive: true });
    const first = await runExt(['build', '--out', 'site', '--arch', 'x86_64'], { cwd: project, timeoutMs: 30_000 });
    assert.equal(first.code, 0, first.stderr);
    const again = await runExt(['build', '--out', 'site', '--arch', 'x86_64'], { cwd: project, timeoutMs: 30_000 });
    assert.equal(again.code, 0, again.stderr);
    await writeFile(path.join(out, 'x86_64', 'demo', 'notes.txt'), 'added by hand');
    const changed = await runExt(['build', '--out', 'site', '--arch', 'x86_64'], { cwd: project, timeoutMs: 30_000 });
    assert.equal(changed.code, 1, changed.stderr);
    assert.match(changed.stderr, /^error\[E_OUT_NOT_OWNED\]: --out: .*site\/x86_64 /m);
    assert.equal(await readFile(path.join(out, 'x86_64', 'demo', 'notes.txt'), 'utf8'), 'added by hand');
    noStackTrace(listed.stderr + copied.stderr + changed.stderr);
  });

  test('what the toolkit wrote is replaced on the next run, and so is a dist/ from before the marker', async () => {
    const project = await tsProject('out-ours-');
    const first = await runExt(['pack'], { cwd: project, timeoutMs: 30_000 });
    assert.equal(first.code, 0, first.stderr);
    const marker = JSON.parse(await readFile(path.join(project, 'dist', '.ext-output.json'), 'utf8')) as {
      entries: string[];
    };
    assert.deepEqual(marker.entries, ['arm64', 'demo-arm64.zip', 'demo-x86_64.zip', 'manifest.json', 'x86_64']);
    const again = await runExt(['pack'], { cwd: project, timeoutMs: 30_000 });
    assert.equal(again.code, 0, again.stderr);

    // A dist/ written before the marker existed: recognised by the shape of what ext build and pack write.
    await rm(path.join(project, 'dist', '.ext-output.json'));
    // Manifests of that time had no sources digest.
    const manifestPath = path.join(project, 'dist', 'manifest.json');
    const { sourcesSha256: _digest, ...older } = JSON.parse(await readFile(manifestPath, 'utf8')) as Record<
      string,
      unknown
    >;
    await writeFile(manifestPath, JSON.stringify(older, null, 2));
    const legacy = await runExt(['pack'], { cwd: project, timeoutMs: 30_000 });
    assert.equal(legacy.code, 0, legacy.stderr);
    assert.deepEqual(
      (await readdir(path.join(project, 'dist'))).sort(),
      ['.ext-output.json', 'arm64', 'demo-arm64.zip', 'demo-x86_64.zip', 'manifest.json', 'x86_64'],
      'no temp files left',
    );

    // ...but a layer folder that also holds something else is not ours.
    await rm(path.join(project, 'dist', '.ext-output.json'));
    await writeFile(path.join(project, 'dist', 'arm64', 'notes.txt'), 'mine');
    const mixed = await runExt(['build'], { cwd: project, timeoutMs: 30_000 });
    assert.equal(mixed.code, 1, mixed.stderr);
    assert.match(mixed.stderr, /^error\[E_OUT_NOT_OWNED\]: --out: .*dist\/arm64 /m);
    assert.equal(await readFile(path.join(project, 'dist', 'arm64', 'notes.txt'), 'utf8'), 'mine');
  });
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { goEnvironment } from '../../src/core/build/index.js';
import { runExt, writeProject } from '../helpers/layer-fixtures.js';

const roots: string[] = [];
after(() => Promise.all(roots.map((root) => rm(root, { recursive: true, force: true }))));

/** A Go project whose go.mod names a toolchain that does not exist: switching to it can only fail. */
async function goProject(goMod: string): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'go-toolchain-'));
  roots.push(root);
  const project = path.join(root, 'project');
  await writeProject(project, { architectures: ['x86_64'] });
  await writeFile(path.join(project, 'go.mod'), goMod);
  await writeFile(path.join(project, 'main.go'), 'package main\n\nfunc main() {}\n');
  return project;
}

// As on a machine with Go's defaults: GOTOOLCHAIN unset (auto). No proxy, so a download fails fast, offline.
const defaults = { GOTOOLCHAIN: '', GOPROXY: 'off', GOFLAGS: '' };

test("a go.mod's toolchain line does not make ext build download and run another toolchain", async () => {
  const project = await goProject('module example.com/demo\n\ngo 1.21\n\ntoolchain go1.99.0\n');
  const built = await runExt(['build'], { cwd: project, env: defaults, timeoutMs: 180_000 });
  assert.equal(built.code, 0, built.stderr);
  assert.doesNotMatch(built.stderr, /go1\.99|toolchain/);
  // The user's own GOTOOLCHAIN wins: with auto, go tries to switch (and, with no proxy, fails).
  const switching = await runExt(['build'], {
    cwd: project,
    env: { ...defaults, GOTOOLCHAIN: 'auto' },
    timeoutMs: 180_000,
  });
  assert.equal(switching.code, 1, switching.stderr);
  assert.match(switching.stderr, /go1\.99\.0/);
});

test('every go that ext build runs gets GOTOOLCHAIN=local, unless the environment sets GOTOOLCHAIN', async () => {
  const project = await goProject('module example.com/demo\n\ngo 1.21\n\ntoolchain go1.99.0\n');
  // A go in front of the real one that notes what it was given: this machine's own go.env may say local.
  const tools = path.join(path.dirname(project), 'tools');
  await mkdir(tools);
  const log = path.join(tools, 'log');
  const realGo = execFileSync('sh', ['-c', 'command -v go'], { encoding: 'utf8' }).trim();
  await writeFile(
    path.join(tools, 'go'),
    `#!/bin/sh\necho "\${GOTOOLCHAIN-unset}" >> '${log}'\nexec '${realGo}' "$@"\n`,
    { mode: 0o755 },
  );
  const env = { ...defaults, PATH: `${tools}${path.delimiter}${process.env['PATH'] ?? ''}` };
  const built = await runExt(['build'], { cwd: project, env, timeoutMs: 180_000 });
  assert.equal(built.code, 0, built.stderr);
  const seen = (await readFile(log, 'utf8')).trim().split('\n');
  assert.ok(seen.length >= 2, seen.join(','));
  assert.deepEqual(new Set(seen), new Set(['local']));
  await writeFile(log, '');
  await runExt(['build'], { cwd: project, env: { ...env, GOTOOLCHAIN: 'go1.21.0+auto' }, timeoutMs: 180_000 });
  assert.deepEqual(new Set((await readFile(log, 'utf8')).trim().split('\n')), new Set(['go1.21.0+auto']));
});

test('a go.mod that needs a newer go is one error naming the version and the fix', async () => {
  const project = await goProject('module example.com/demo\n\ngo 1.99\n');
  const built = await runExt(['build'], { cwd: project, env: defaults, timeoutMs: 180_000 });
  assert.equal(built.code, 1, built.stderr);
  assert.match(built.stderr, /^error\[E_BUILD_GO_TOO_OLD\]: go\.mod asks for go 1\.99, /m);
  assert.match(built.stderr, /^hint: .*GOTOOLCHAIN=auto ext build/m);
});

test('GOTOOLCHAIN: local unless the environment sets it', () => {
  assert.equal(goEnvironment({})['GOTOOLCHAIN'], 'local');
  assert.equal(goEnvironment({ GOTOOLCHAIN: '' })['GOTOOLCHAIN'], 'local');
  assert.equal(goEnvironment({ GOTOOLCHAIN: 'go1.25.0+auto' })['GOTOOLCHAIN'], 'go1.25.0+auto');
});

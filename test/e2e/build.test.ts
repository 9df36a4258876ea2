import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, cp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { invokeEvent, shutdownEvent, startFakeExtensionsApi } from '../helpers/fake-extensions-api.js';
import { describeRun, repositoryRoot, run, runCreate, runExt, temporaryDirectory } from '../helpers/run-cli.js';

let workspace: { path: string; cleanup: () => Promise<void> };
let goProject: string;
let tsProject: string;

before(async () => {
  workspace = await temporaryDirectory('cle-build-');
  goProject = path.join(workspace.path, 'go-ext');
  tsProject = path.join(workspace.path, 'ts-ext');
  for (const [directory, language] of [
    [goProject, 'go'],
    [tsProject, 'ts'],
  ] as const) {
    const result = await runCreate([directory, '--lang', language, '--yes']);
    assert.equal(result.code, 0, describeRun(result));
  }
});
after(async () => workspace.cleanup());

const sha256 = async (file: string) =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');

function elfHeader(buffer: Buffer): { elfClass: number; machine: number; hasInterpreter: boolean } {
  assert.equal(buffer.subarray(0, 4).toString('latin1'), '\u007fELF');
  const programHeaderOffset = Number(buffer.readBigUInt64LE(0x20));
  const programHeaderSize = buffer.readUInt16LE(0x36);
  const programHeaderCount = buffer.readUInt16LE(0x38);
  let hasInterpreter = false;
  for (let index = 0; index < programHeaderCount; index += 1) {
    if (buffer.readUInt32LE(programHeaderOffset + index * programHeaderSize) === 3) hasInterpreter = true;
  }
  return { elfClass: buffer[4]!, machine: buffer.readUInt16LE(0x12), hasInterpreter };
}

describe('ext build, Go', () => {
  it('cross-compiles static Linux binaries for both architectures, reproducibly', async () => {
    const first = await runExt(['build', '--json'], { cwd: goProject, timeoutMs: 300_000 });
    assert.equal(first.code, 0, describeRun(first));
    const result = JSON.parse(first.stdout);
    assert.deepEqual(
      result.layers.map((layer: { architecture: string }) => layer.architecture),
      ['x86_64', 'arm64'],
    );
    const hashes: string[] = [];
    for (const [architecture, machine] of [
      ['x86_64', 62],
      ['arm64', 183],
    ] as const) {
      const binary = path.join(goProject, 'dist', architecture, 'extensions', 'go-ext');
      assert.equal((await stat(binary)).mode & 0o777, 0o755);
      const header = elfHeader(await readFile(binary));
      assert.equal(header.elfClass, 2, '64-bit');
      assert.equal(header.machine, machine);
      assert.equal(header.hasInterpreter, false, 'static: no PT_INTERP');
      hashes.push(await sha256(binary));
    }
    const layer = result.layers[0];
    assert.deepEqual(
      layer.files.map((file: { path: string }) => file.path),
      ['extensions/go-ext'],
    );
    assert.ok(layer.files[0].bytes > 100_000);

    const second = await runExt(['build'], { cwd: goProject, timeoutMs: 300_000 });
    assert.equal(second.code, 0, describeRun(second));
    assert.match(second.stdout, /x86_64/);
    assert.equal(await sha256(path.join(goProject, 'dist', 'x86_64', 'extensions', 'go-ext')), hashes[0]);
    assert.equal(await sha256(path.join(goProject, 'dist', 'arm64', 'extensions', 'go-ext')), hashes[1]);
  });

  it('stamps the version and registers with its own file name', async () => {
    const binary = path.join(goProject, 'dist', 'x86_64', 'extensions', 'go-ext');
    assert.ok((await readFile(binary)).includes('0.1.0'));
    const renamed = path.join(workspace.path, 'elsewhere', 'extensions', 'renamed-ext');
    await cp(binary, renamed);
    await chmod(renamed, 0o755);
    const api = await startFakeExtensionsApi([invokeEvent('req-1'), shutdownEvent()]);
    try {
      const extension = await run(renamed, [], { env: { AWS_LAMBDA_RUNTIME_API: api.address }, timeoutMs: 10_000 });
      assert.equal(extension.code, 0, describeRun(extension));
      assert.equal(api.registrations[0]?.name, 'renamed-ext');
      assert.equal(api.nextCalls, 2);
      assert.match(extension.stdout, /0\.1\.0/);
    } finally {
      await api.close();
    }
  });

  it('shows the compiler output on a compile error and keeps the previous build', async () => {
    const binary = path.join(goProject, 'dist', 'arm64', 'extensions', 'go-ext');
    const before = await sha256(binary);
    const main = path.join(goProject, 'main.go');
    const source = await readFile(main, 'utf8');
    await writeFile(main, `${source}\nfunc broken() { undefinedThing() }\n`);
    try {
      const result = await runExt(['build'], { cwd: goProject, timeoutMs: 300_000 });
      assert.equal(result.code, 1, describeRun(result));
      assert.match(result.stderr, /main\.go:\d+:\d+: undefined: undefinedThing/);
      assert.equal(
        result.stderr.match(/undefined: undefinedThing/g)?.length,
        1,
        'the same error is shown once, not per architecture',
      );
      assert.match(result.stderr, /^error\[E_BUILD_COMPILE_FAILED\]: .*(x86_64|arm64)/m);
      assert.equal(await sha256(binary), before);
      const leftovers = (await import('node:fs/promises')).readdir(path.join(goProject, 'dist'));
      assert.deepEqual((await leftovers).sort(), ['.ext-output.json', 'arm64', 'x86_64']);
    } finally {
      await writeFile(main, source);
    }
  });

  it('says how to install Go when go is not on PATH', async () => {
    const result = await runExt(['build'], { cwd: goProject, env: { PATH: '/nonexistent' } });
    assert.equal(result.code, 1, describeRun(result));
    assert.match(result.stderr, /^error\[E_BUILD_GO_MISSING\]: /m);
    assert.match(result.stderr, /go\.dev\/dl/);
  });

  it('refuses an unknown --arch, naming the flag', async () => {
    const result = await runExt(['build', '--arch', 'amd64'], { cwd: goProject });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^error\[E_USAGE_BAD_VALUE\]: --arch: .*\(Lambda calls amd64 "x86_64"\)/m);
  });

  it('refuses an unwritable --out', async () => {
    await writeFile(path.join(workspace.path, 'a-file'), '');
    const result = await runExt(['build', '--out', path.join(workspace.path, 'a-file', 'dist')], { cwd: goProject });
    assert.equal(result.code, 1, describeRun(result));
    assert.match(result.stderr, /^error\[E_FOLDER_NOT_CREATABLE\]: --out: cannot create .*a-file\/dist/m);
  });
});

describe('ext build, flags override lambda-extension.json', () => {
  it('--name and --extension-version replace the config for one run', async () => {
    const out = path.join(workspace.path, 'override-dist');
    const result = await runExt(
      ['build', '--arch', 'x86_64', '--name', 'other-name', '--extension-version', '7.7.7-rc1', '--out', out],
      { cwd: goProject, timeoutMs: 300_000 },
    );
    assert.equal(result.code, 0, describeRun(result));
    const binary = await readFile(path.join(out, 'x86_64', 'extensions', 'other-name'));
    assert.ok(binary.includes('7.7.7-rc1'));
    const config = JSON.parse(await readFile(path.join(goProject, 'lambda-extension.json'), 'utf8'));
    assert.equal(config.name, 'go-ext', 'the file is not rewritten');
  });

  it('--sourcemap writes a map next to the bundle and enables it in the launcher', async () => {
    const out = path.join(workspace.path, 'sourcemap-dist');
    const result = await runExt(['build', '--arch', 'arm64', '--sourcemap', '--out', out], { cwd: tsProject });
    assert.equal(result.code, 0, describeRun(result));
    assert.ok(existsSync(path.join(out, 'arm64', 'ts-ext', 'index.mjs.map')));
    assert.match(
      await readFile(path.join(out, 'arm64', 'extensions', 'ts-ext'), 'utf8'),
      /exec node --enable-source-maps /,
    );
  });

  it('ext pack takes the same overrides, naming the zip and its entry after --name', async () => {
    const out = path.join(workspace.path, 'override-pack');
    const result = await runExt(
      ['pack', '--arch', 'x86_64', '--name', 'packed-name', '--extension-version', '2.0.0', '--out', out, '--json'],
      { cwd: goProject, timeoutMs: 300_000 },
    );
    assert.equal(result.code, 0, describeRun(result));
    const manifest = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8'));
    assert.equal(manifest.name, 'packed-name');
    assert.equal(manifest.version, '2.0.0');
    const listing = await run('unzip', ['-Z1', path.join(out, 'packed-name-x86_64.zip')]);
    assert.deepEqual(listing.stdout.trim().split('\n'), ['extensions/', 'extensions/packed-name']);
  });

  it('refuses a bad --name override with exit code 2', async () => {
    const result = await runExt(['build', '--name', '../escape'], { cwd: goProject });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^error\[E_CONFIG_OVERRIDE_INVALID\]: --name: "\.\.\/escape" /m);
  });
});

describe('ext build, configuration errors', () => {
  it('says when the --cwd directory does not exist', async () => {
    const result = await runExt(['build', '--cwd', path.join(workspace.path, 'no-such-dir')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^error\[E_CONFIG_PROJECT_MISSING\]: .*no-such-dir /m);
  });

  it('names the missing lambda-extension.json and --cwd', async () => {
    const result = await runExt(['build', '--cwd', workspace.path]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^error\[E_CONFIG_MISSING\]: /m);
    assert.match(result.stderr, /--cwd/);
  });

  it('names the invalid field', async () => {
    const project = path.join(workspace.path, 'invalid');
    await cp(goProject, project, { recursive: true, filter: (source) => !source.includes(`${path.sep}dist`) });
    const configPath = path.join(project, 'lambda-extension.json');
    const config = JSON.parse(await readFile(configPath, 'utf8'));
    await writeFile(configPath, JSON.stringify({ ...config, architectures: ['amd64'] }));
    const result = await runExt(['build'], { cwd: project });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^error\[E_CONFIG_INVALID\]: .*lambda-extension\.json: "architectures\[0\]" /m);
    await writeFile(configPath, '{"name": ');
    const syntax = await runExt(['build'], { cwd: project });
    assert.match(syntax.stderr, /^error\[E_CONFIG_NOT_JSON\]: .*lambda-extension\.json /m);
  });
});

describe('ext build, TypeScript', () => {
  it('bundles one file per architecture with an LF sh launcher, both 0755', async () => {
    const result = await runExt(['build', '--json'], { cwd: tsProject, timeoutMs: 120_000 });
    assert.equal(result.code, 0, describeRun(result));
    const output = JSON.parse(result.stdout);
    assert.match(output.notes.join('\n'), /node/);
    for (const architecture of ['x86_64', 'arm64']) {
      const layer = path.join(tsProject, 'dist', architecture);
      const launcher = await readFile(path.join(layer, 'extensions', 'ts-ext'), 'utf8');
      assert.ok(launcher.startsWith('#!/bin/sh\n'));
      assert.ok(!launcher.includes('\r'));
      assert.match(launcher, /\nexec node --max-semi-space-size=1 "\$\{0%\/\*\}\/\.\.\/ts-ext\/index\.mjs" "\$@"\n/);
      assert.equal((await stat(path.join(layer, 'extensions', 'ts-ext'))).mode & 0o777, 0o755);
      assert.equal((await stat(path.join(layer, 'ts-ext', 'index.mjs'))).mode & 0o777, 0o755);
      const bundle = await readFile(path.join(layer, 'ts-ext', 'index.mjs'), 'utf8');
      assert.ok(bundle.startsWith('#!/usr/bin/env node\n'));
      assert.ok(!/from ["'](?!node:)[a-z]/.test(bundle), 'everything but node built-ins is bundled');
    }
  });

  it('runs from any folder: the launcher finds the bundle relative to itself', async () => {
    const elsewhere = path.join(workspace.path, 'not-opt');
    await cp(path.join(tsProject, 'dist', 'x86_64'), elsewhere, { recursive: true });
    const api = await startFakeExtensionsApi([invokeEvent('req-1'), shutdownEvent()]);
    try {
      const extension = await run(path.join(elsewhere, 'extensions', 'ts-ext'), [], {
        env: { AWS_LAMBDA_RUNTIME_API: api.address },
        timeoutMs: 10_000,
      });
      assert.equal(extension.code, 0, describeRun(extension));
      assert.equal(api.registrations[0]?.name, 'ts-ext');
      assert.equal(api.nextCalls, 2);
    } finally {
      await api.close();
    }
  });

  it('explains a missing node on PATH instead of failing obscurely', async () => {
    const launcher = path.join(tsProject, 'dist', 'x86_64', 'extensions', 'ts-ext');
    const result = await run('/bin/sh', [launcher], { env: { PATH: '/nonexistent' } });
    assert.equal(result.code, 127);
    assert.match(result.stderr, /ts-ext: node is not on PATH; this extension needs a Node\.js runtime/);
  });

  it('reports a bundling error with the file and line, and keeps the previous build', async () => {
    const bundle = path.join(tsProject, 'dist', 'x86_64', 'ts-ext', 'index.mjs');
    const before = await sha256(bundle);
    const entry = path.join(tsProject, 'src', 'index.ts');
    const source = await readFile(entry, 'utf8');
    await writeFile(entry, `${source}\nimport './does-not-exist.js';\n`);
    try {
      const result = await runExt(['build'], { cwd: tsProject });
      assert.equal(result.code, 1, describeRun(result));
      assert.match(result.stderr, /^error\[E_BUILD_BUNDLE_FAILED\]: .*index\.ts:\d+: Could not resolve/m);
      assert.equal(await sha256(bundle), before);
    } finally {
      await writeFile(entry, source);
    }
    assert.ok(existsSync(bundle));
    await rm(path.join(workspace.path, 'not-opt'), { recursive: true, force: true });
  });
});

describe('ext build, ext pack and ext dev check TypeScript types', () => {
  // The check runs by default; the helpers turn it off for the many fixtures made without npm install.
  const checking = { CREATE_LAMBDA_EXTENSION_TYPECHECK: '' };
  let project: string;
  let entry: string;
  let source: string;
  before(async () => {
    project = path.join(workspace.path, 'typed-ext');
    const created = await runCreate([project, '--lang', 'ts', '--arch', 'x86_64', '--yes']);
    assert.equal(created.code, 0, describeRun(created));
    // What npm install gives the project: typescript and @types/node (the toolkit's own, same ranges).
    await symlink(path.join(repositoryRoot, 'node_modules'), path.join(project, 'node_modules'));
    entry = path.join(project, 'src', 'index.ts');
    source = await readFile(entry, 'utf8');
  });

  it('builds a sound project, keeping tsc incremental state under node_modules/.cache', async () => {
    const result = await runExt(['build', '--json'], { cwd: project, env: checking, timeoutMs: 180_000 });
    assert.equal(result.code, 0, describeRun(result));
    assert.equal(JSON.parse(result.stdout).typeChecked, true);
    assert.ok(
      existsSync(path.join(project, 'node_modules', '.cache', 'create-lambda-extension', 'tsconfig.tsbuildinfo')),
    );
  });

  it('fails on a type error with tsc-style file:line:col lines and a one-line summary; keeps the last build', async () => {
    const bundle = path.join(project, 'dist', 'x86_64', 'typed-ext', 'index.mjs');
    const before = await sha256(bundle);
    await writeFile(entry, `${source}\nexport const broken: number = 'not a number';\n`);
    try {
      const lines = source.split('\n').length + 1;
      for (const command of ['build', 'pack']) {
        const result = await runExt([command], { cwd: project, env: checking, timeoutMs: 180_000 });
        assert.equal(result.code, 1, describeRun(result));
        assert.match(result.stderr, new RegExp(`^src/index\\.ts:${lines}:14 - error TS2322: `, 'm'));
        assert.match(
          result.stderr,
          /^error\[E_BUILD_TYPE_ERRORS\]: .*1 error in 1 file \(first: src\/index\.ts:\d+:14 TS2322\)$/m,
        );
        assert.match(result.stderr, /--no-typecheck/);
        assert.equal(await sha256(bundle), before, `${command} kept the last good layer`);
      }
      const dev = await runExt(['dev'], { cwd: project, env: checking, timeoutMs: 180_000 });
      assert.equal(dev.code, 1, describeRun(dev));
      assert.match(dev.stderr, /^error\[E_\w+\]: type check failed: 1 error/m);
      const skipped = await runExt(['build', '--no-typecheck', '--json'], { cwd: project, env: checking });
      assert.equal(skipped.code, 0, describeRun(skipped));
      assert.equal(JSON.parse(skipped.stdout).typeChecked, false);
      const byEnvironment = await runExt(['build'], {
        cwd: project,
        env: { CREATE_LAMBDA_EXTENSION_TYPECHECK: 'off' },
      });
      assert.equal(byEnvironment.code, 0, describeRun(byEnvironment));
    } finally {
      await writeFile(entry, source);
    }
  });

  it('says to install typescript or pass --no-typecheck when the project has no typescript', async () => {
    const bare = path.join(workspace.path, 'bare-ext');
    await cp(project, bare, { recursive: true, filter: (file) => path.basename(file) !== 'node_modules' });
    const result = await runExt(['build'], { cwd: bare, env: checking });
    assert.equal(result.code, 1, describeRun(result));
    assert.match(result.stderr, /^error\[E_BUILD_TYPESCRIPT_MISSING\]: .*bare-ext/m);
    assert.match(result.stderr, /npm install -D typescript.*--no-typecheck/);
    await rm(bare, { recursive: true, force: true });
  });
});

describe('ext build, output folder', () => {
  it('fails clearly, instead of hanging, when --out is on a filesystem that takes no folders', async () => {
    const result = await runExt(['build', '--out', '/proc/no-such-folder'], { cwd: goProject, timeoutMs: 15_000 });
    assert.equal(result.signal, null, 'it did not hang');
    assert.equal(result.code, 1, describeRun(result));
    assert.match(
      result.stderr,
      /^error\[E_FOLDER_NOT_CREATABLE\]: --out: cannot create the output folder \/proc\/no-such-folder/m,
    );
  });
});

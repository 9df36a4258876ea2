import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { launcherScript } from '../../src/core/build/index.js';
import { applyConfigOverrides, configProblems, parseConfig, standaloneNodeVersion } from '../../src/core/config.js';
import { extensionEnvironment, pathWithoutNode } from '../../src/core/emulator/processes/launch.js';
import { CliError } from '../../src/core/errors.js';
import { inspectZipBuffer, launcherTargets, type InspectReport } from '../../src/core/inspect/index.js';
import { compatibleRuntimesFor } from '../../src/core/publish/index.js';
import { cacheDirectory, newestVersion } from '../../src/core/standalone/node-cache.js';
import { maximumCompatibleRuntimes, standaloneCompatibleRuntimes } from '../../src/core/standalone/runtimes.js';
import { stripperCandidates } from '../../src/core/standalone/strip.js';
import { extractTarEntry } from '../../src/core/standalone/tar.js';
import { buildZip, elfImage } from '../helpers/zip-fixtures.js';

function tarHeader(name: string, size: number, type = '0'): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, 'utf8');
  header.write('0000755\0', 100);
  header.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  header.write(type, 156);
  header.write('ustar\0', 257);
  return header;
}

function tarEntry(name: string, body: Buffer, type = '0'): Buffer {
  const padding = Buffer.alloc((512 - (body.length % 512)) % 512);
  return Buffer.concat([tarHeader(name, body.length, type), body, padding]);
}

test('extractTarEntry finds one file in a gzipped npm tarball, also behind a pax path header', () => {
  const node = Buffer.from('\x7fELF pretend node binary');
  const tarball = gzipSync(
    Buffer.concat([
      tarEntry('package/package.json', Buffer.from('{}')),
      tarEntry('package/README.md', Buffer.alloc(700, 'r')),
      tarEntry('package/bin/node', node),
      Buffer.alloc(1024),
    ]),
  );
  assert.deepEqual(extractTarEntry(tarball, 'package/bin/node'), node);
  assert.equal(extractTarEntry(tarball, 'package/bin/npm'), undefined);
  const pax = Buffer.from('25 path=package/bin/node\n');
  const withPax = gzipSync(
    Buffer.concat([tarEntry('PaxHeader', pax, 'x'), tarEntry('package/bin/ignored-name', node), Buffer.alloc(1024)]),
  );
  assert.deepEqual(extractTarEntry(withPax, 'package/bin/node'), node);
  const truncated = gzipSync(Buffer.concat([tarHeader('package/bin/node', 4096), Buffer.alloc(10)]));
  assert.throws(() => extractTarEntry(truncated, 'package/bin/node'), /ends inside an entry/);
});

test('newestVersion picks the highest plain release from npm view, numerically', () => {
  assert.equal(newestVersion(['24.2.0', '24.10.1', '24.9.9', '24.10.0']), '24.10.1');
  assert.equal(newestVersion('22.23.5'), '22.23.5');
  assert.equal(newestVersion(['24.0.0-rc.1', '23.9.0']), '23.9.0');
  assert.equal(newestVersion([]), undefined);
  assert.equal(newestVersion({ error: 'E404' }), undefined);
});

test('the cache folder: the variable, then XDG_CACHE_HOME, then ~/.cache', () => {
  assert.equal(cacheDirectory({ CREATE_LAMBDA_EXTENSION_CACHE: '/tmp/mine', XDG_CACHE_HOME: '/x' }), '/tmp/mine');
  assert.equal(cacheDirectory({ XDG_CACHE_HOME: '/x' }), '/x/create-lambda-extension');
  assert.equal(cacheDirectory({}), path.join(os.homedir(), '.cache', 'create-lambda-extension'));
});

test('"standalone" and "nodeVersion" in lambda-extension.json', () => {
  const base = { name: 'demo', language: 'ts', entry: 'src/index.ts', architectures: ['x86_64'], version: '1.0.0' };
  assert.deepEqual(configProblems({ ...base, standalone: true, nodeVersion: '24' }), []);
  assert.deepEqual(configProblems({ ...base, standalone: true, nodeVersion: '22.23.5' }), []);
  assert.match(configProblems({ ...base, standalone: 'yes' }).join(), /"standalone" must be true or false/);
  assert.match(configProblems({ ...base, nodeVersion: '18' }).join(), /must be 20 or later/);
  assert.match(configProblems({ ...base, nodeVersion: 'latest' }).join(), /a Node.js major such as "24"/);
  assert.match(configProblems({ ...base, nodeVersion: '24.1' }).join(), /exact version such as "24.22.3"/);
  assert.match(
    configProblems({ ...base, language: 'go', entry: '.', standalone: true }).join(),
    /"standalone" is for TypeScript/,
  );
  const config = parseConfig(JSON.stringify({ ...base, standalone: true }), 'lambda-extension.json');
  assert.equal(standaloneNodeVersion(config), '24');
  assert.equal(standaloneNodeVersion({ ...config, standalone: false }), undefined);
  assert.equal(standaloneNodeVersion(applyConfigOverrides(config, { nodeVersion: '22' })), '22');
  assert.equal(standaloneNodeVersion(applyConfigOverrides(config, { standalone: false })), undefined);
  const overrideRefused = (error: unknown): boolean =>
    error instanceof CliError && error.code === 'E_CONFIG_OVERRIDE_INVALID' && error.exitCode === 2;
  assert.throws(() => applyConfigOverrides(config, { nodeVersion: 'lts' }), overrideRefused);
  const go = parseConfig(JSON.stringify({ ...base, language: 'go', entry: '.' }), 'lambda-extension.json');
  assert.throws(() => applyConfigOverrides(go, { standalone: true }), overrideRefused);
});

test('the standalone launcher runs the bundled node relative to itself, with built-ins only, never PATH', () => {
  const script = launcherScript('demo', true, ['--max-semi-space-size=1'], true);
  assert.match(script, /^#!\/bin\/sh\n/);
  assert.match(script, /bundled_node="\$\{0%\/\*\}\/\.\.\/demo\/bin\/node"/);
  assert.match(
    script,
    /exec "\$bundled_node" --enable-source-maps --max-semi-space-size=1 "\$\{0%\/\*\}\/\.\.\/demo\/index\.mjs" "\$@"/,
  );
  assert.doesNotMatch(script, /command -v|dirname|basename|exec node/);
  assert.match(script, /\nunset NODE_OPTIONS\n[^]*\nexec /, "the function's NODE_OPTIONS are cleared before node runs");
  // ext inspect follows it to the node binary and the bundle, and knows the node is the layer's own.
  const targets = launcherTargets(script, 'extensions/demo');
  assert.deepEqual(
    targets.map((target) => [target.path, target.direct, target.bundledInterpreter]),
    [
      ['demo/bin/node', true, undefined],
      ['demo/index.mjs', false, 'demo/bin/node'],
    ],
  );
});

function standaloneZip(nodeMachine: number): Buffer {
  return buildZip([
    { name: 'extensions/demo', data: launcherScript('demo', false, [], true), mode: 0o100755 },
    { name: 'demo/index.mjs', data: '#!/usr/bin/env node\n', mode: 0o100755 },
    {
      name: 'demo/bin/node',
      data: elfImage({ machine: nodeMachine, interpreter: '/lib64/ld-linux-x86-64.so.2' }),
      mode: 0o100755,
    },
  ]);
}

const codes = (report: InspectReport): string[] =>
  report.findings.map((finding) => `${finding.severity}:${finding.code}`);

test('ext inspect: a standalone layer needs no node runtime, and its node must match the architecture', () => {
  const good = inspectZipBuffer(standaloneZip(62), 'demo-x86_64.zip');
  assert.deepEqual(codes(good), ['warning:bundled-node-al2023']);
  assert.equal(good.extensions[0]?.bundledNode, 'demo/bin/node');
  const arm = inspectZipBuffer(standaloneZip(183), 'demo-arm64.zip');
  assert.deepEqual(codes(arm), ['warning:bundled-node-al2023']);
  const wrong = inspectZipBuffer(standaloneZip(183), 'demo-x86_64.zip');
  assert.deepEqual(codes(wrong), ['error:elf-wrong-machine']);
  assert.equal(wrong.ok, false);
  assert.equal(wrong.extensions[0]?.bundledNode, undefined);
  const byOption = inspectZipBuffer(standaloneZip(62), 'layer.zip', { architecture: 'arm64' });
  assert.deepEqual(codes(byOption), ['error:elf-wrong-machine']);
  // Without a name or --arch to go by, the node's own header says what the layer is for.
  const unnamed = inspectZipBuffer(standaloneZip(183), 'layer.zip');
  assert.equal(unnamed.architecture, 'arm64');
  assert.deepEqual(codes(unnamed), ['warning:bundled-node-al2023']);
});

test("compatible runtimes: Amazon Linux 2023 ones only, within Lambda's 15; the flag wins over the manifest", () => {
  assert.ok(standaloneCompatibleRuntimes.length <= maximumCompatibleRuntimes);
  assert.ok(standaloneCompatibleRuntimes.includes('provided.al2023'));
  for (const runtime of ['provided.al2', 'python3.11', 'java17', 'nodejs18.x', 'java8.al2'])
    assert.ok(!(standaloneCompatibleRuntimes as readonly string[]).includes(runtime), runtime);
  assert.deepEqual(compatibleRuntimesFor(undefined, undefined), {});
  assert.deepEqual(compatibleRuntimesFor(undefined, ['python3.12']), { CompatibleRuntimes: ['python3.12'] });
  assert.deepEqual(compatibleRuntimesFor(['java21'], ['python3.12']), { CompatibleRuntimes: ['java21'] });
  assert.equal(
    compatibleRuntimesFor(
      undefined,
      Array.from({ length: 20 }, (_, index) => `python3.${index}`),
    ).CompatibleRuntimes?.length,
    15,
  );
});

test('a standalone layer gets a PATH without any folder that holds a node', async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'cle-path-'));
  try {
    const withNode = path.join(root, 'with-node');
    await mkdir(withNode);
    await writeFile(path.join(withNode, 'node'), '');
    assert.deepEqual(pathWithoutNode([withNode, root]), { kept: [root], dropped: [withNode] });
    const settings = {
      layerDirectory: root,
      runtimeApi: '127.0.0.1:9001',
      functionName: 'f',
      memorySizeMB: 128,
      region: 'us-east-1',
      functionEnv: {},
    };
    const plain = extensionEnvironment(settings).PATH!.split(':');
    assert.ok(plain.includes(path.dirname(process.execPath)));
    const standalone = extensionEnvironment({ ...settings, withoutNode: true }).PATH!.split(':');
    assert.ok(!standalone.includes(path.dirname(process.execPath)));
    for (const folder of standalone) assert.ok(!pathWithoutNode([folder]).dropped.length, folder);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('strippers: llvm-strip (any machine) first, newest version first; a GNU cross strip only for its machine', async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'cle-strip-'));
  try {
    for (const tool of ['llvm-strip-14', 'llvm-strip-17', 'aarch64-linux-gnu-strip', 'x86_64-linux-gnu-strip']) {
      await writeFile(path.join(root, tool), '#!/bin/sh\n');
      await chmod(path.join(root, tool), 0o755);
    }
    const environment = { PATH: root };
    assert.deepEqual(
      stripperCandidates('arm64', environment).map((file) => path.basename(file)),
      ['llvm-strip-17', 'llvm-strip-14', 'aarch64-linux-gnu-strip'],
    );
    assert.deepEqual(
      stripperCandidates('x86_64', environment).map((file) => path.basename(file)),
      ['llvm-strip-17', 'llvm-strip-14', 'x86_64-linux-gnu-strip'],
    );
    assert.deepEqual(stripperCandidates('arm64', { PATH: path.join(root, 'missing') }), []);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

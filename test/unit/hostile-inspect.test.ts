import assert from 'node:assert/strict';
import { scaled } from '../helpers/time-scale.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { formatReport } from '../../src/cli/commands/inspect.js';
import { inspect, inspectZipBuffer, launcherTargets, type InspectReport } from '../../src/core/inspect/index.js';
import { extensionEntry, overlappingEntriesZip, symlink, symlinkChainZip } from '../helpers/hostile-zips.js';
import { buildZip, elfImage, type RawZipEntry } from '../helpers/zip-fixtures.js';

const staticArm = elfImage({ machine: 183 });

function report(entries: RawZipEntry[], zipName = 'layer.zip'): InspectReport {
  return inspectZipBuffer(buildZip(entries), zipName);
}

function codes(result: InspectReport): string[] {
  return result.findings.map((finding) => `${finding.severity}:${finding.code}`);
}

function assertHas(result: InspectReport, code: string, path?: string): void {
  const found = result.findings.some(
    (finding) => `${finding.severity}:${finding.code}` === code && (path === undefined || finding.path === path),
  );
  assert.ok(found, `expected ${code}${path === undefined ? '' : ` on ${path}`}, got ${codes(result).join(', ')}`);
}

test('symlink chains that climb out of the layer are errors, not warnings', () => {
  const result = inspectZipBuffer(symlinkChainZip(), 'chain.zip');
  assert.equal(result.ok, false);
  assertHas(result, 'error:symlink-outside-layer', 'h1');
  assertHas(result, 'error:symlink-outside-layer', 'h2');
  assertHas(result, 'error:path-through-symlink', 'h1/y');
  assertHas(result, 'error:path-through-symlink', 'h2/victim/file');
  assertHas(result, 'warning:symlink', 'y'); // y -> . stays inside
});

test('an extension that is a link out of the layer, or into a loop, is an error', () => {
  const outside = report([symlink('extensions/demo', '/usr/bin/python3')]);
  assertHas(outside, 'error:symlink-outside-layer', 'extensions/demo');
  const loop = report([symlink('extensions/demo', '../a'), symlink('a', 'extensions/demo')]);
  assertHas(loop, 'error:symlink-loop', 'extensions/demo');
  const inside = report([
    symlink('extensions/demo', '/opt/bin/run'),
    { name: 'bin/run', data: staticArm, mode: 0o100755 },
  ]);
  assert.deepEqual(codes(inside), ['warning:symlink']);
});

test('declared sizes over 250 MB are an error found before anything is inflated', { timeout: scaled(10_000) }, () => {
  // A wrong CRC would be reported if the entry were inflated.
  const result = report([
    extensionEntry,
    {
      name: 'big',
      data: 'x',
      crc: 1,
      uncompressedSize: 300 * 1024 * 1024,
      local: { uncompressedSize: 300 * 1024 * 1024 },
    },
  ]);
  assertHas(result, 'error:unzipped-too-large');
  assert.ok(!codes(result).includes('error:crc-mismatch'), codes(result).join(', '));
});

test(
  '2,000 entries sharing one stream are reported without inflating it 2,000 times',
  { timeout: scaled(20_000) },
  () => {
    const zip = overlappingEntriesZip(2000, 1024 * 1024);
    const before = process.memoryUsage().rss;
    const result = inspectZipBuffer(zip, 'bomb.zip');
    assert.ok(process.memoryUsage().rss - before < 200 * 1024 * 1024);
    assertHas(result, 'error:overlapping-entries');
    assertHas(result, 'error:unzipped-too-large');
    // Under the size limit the shared entries are still not inflated: they are errors already.
    const small = inspectZipBuffer(overlappingEntriesZip(20, 1024 * 1024), 'bomb.zip');
    assert.equal(small.findings.filter((finding) => finding.code === 'overlapping-entries').length, 19);
  },
);

test('a stream that inflates past its declared size is an error', { timeout: scaled(10_000) }, () => {
  const result = report([extensionEntry, { name: 'liar', data: Buffer.alloc(4 * 1024 * 1024), uncompressedSize: 100 }]);
  assertHas(result, 'error:unreadable-entry', 'liar');
});

test('launchers whose variables double each other degrade to "could not analyse"', { timeout: scaled(10_000) }, () => {
  const lines = ['#!/bin/sh', 'v0="$(dirname "$0")"'];
  for (let index = 1; index <= 40; index++) lines.push(`v${index}="$v${index - 1}$v${index - 1}"`);
  lines.push('exec "$v40/run"');
  const script = `${lines.join('\n')}\n`;
  assert.throws(() => launcherTargets(script, 'extensions/demo'), /expand|characters/);
  const result = report([{ name: 'extensions/demo', data: script, mode: 0o100755 }]);
  assertHas(result, 'warning:launcher-not-analysed', 'extensions/demo');
});

/**
 * Counts the elements every array scan (some, filter, find...) is called on
 * while `run` runs: a deterministic measure of work, unlike wall time on a
 * shared machine. The quadratic version scanned all findings once per ELF file.
 */
function arrayScanWork(run: () => void): number {
  const methods = ['some', 'every', 'filter', 'find', 'findIndex', 'forEach', 'map', 'reduce', 'includes'] as const;
  const prototype = Array.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  const originals = methods.map((name) => prototype[name]!);
  let work = 0;
  methods.forEach((name, index) => {
    const original = originals[index]!;
    prototype[name] = function (this: unknown[], ...args: unknown[]) {
      work += this.length;
      return original.apply(this, args);
    };
  });
  try {
    run();
  } finally {
    methods.forEach((name, index) => {
      prototype[name] = originals[index]!;
    });
  }
  return work;
}

test('inspect does linear work in the number of ELF files', { timeout: scaled(60_000) }, () => {
  // Each arm64 ELF in an x86_64 zip gets a finding.
  const zipOf = (count: number): Buffer =>
    buildZip([
      extensionEntry,
      ...Array.from({ length: count }, (_, index) => ({
        name: `lib/f${index}.so`,
        data: staticArm,
        method: 0 as const,
      })),
    ]);
  const work = (count: number): number => {
    const zip = zipOf(count);
    let findings = 0;
    const scanned = arrayScanWork(() => {
      findings = inspectZipBuffer(zip, 'layer-x86_64.zip').findings.length;
    });
    assert.ok(findings >= count);
    return scanned;
  };
  const ratio = work(20_000) / work(2_000);
  // Ten times the files: linear work is about 10 times as much, the quadratic version about 100.
  assert.ok(ratio < 20, `20,000 ELF files took ${ratio.toFixed(1)} times the work of 2,000`);
});

test('layers that cannot work are errors: truncated ELF, NUL and overlong names, local header mismatches', () => {
  const truncatedSections = Buffer.from(staticArm);
  truncatedSections.writeBigUInt64LE(BigInt(staticArm.length + 4096), 0x28); // e_shoff
  truncatedSections.writeUInt16LE(64, 0x3a);
  truncatedSections.writeUInt16LE(10, 0x3c);
  const truncatedSegments = Buffer.from(staticArm);
  truncatedSegments.writeBigUInt64LE(BigInt(1 << 20), 64 + 0x20); // PT_LOAD p_filesz
  const result = report([
    { name: 'extensions/demo', data: truncatedSections, mode: 0o100755 },
    { name: 'extensions/other', data: truncatedSegments, mode: 0o100755 },
    { name: 'extensions/cut', data: staticArm.subarray(0, 70), mode: 0o100755 },
    { name: 'lib/nul\0name', data: 'x' },
    { name: `lib/${'a'.repeat(256)}`, data: 'x' },
    { name: 'lib/renamed', data: 'x', local: { name: 'lib/other' } },
    { name: 'lib/resized', data: 'abc', local: { uncompressedSize: 2 } },
    { name: 'lib/method', data: 'abc', method: 8, local: { method: 0 } },
  ]);
  assertHas(result, 'error:elf-damaged', 'extensions/demo');
  assertHas(result, 'error:elf-damaged', 'extensions/other');
  assertHas(result, 'error:elf-damaged', 'extensions/cut');
  assertHas(result, 'error:nul-in-name', 'lib/nul\0name');
  assertHas(result, 'error:name-too-long');
  assertHas(result, 'error:local-header-mismatch', 'lib/renamed');
  assertHas(result, 'error:local-header-mismatch', 'lib/resized');
  assertHas(result, 'error:local-header-mismatch', 'lib/method');
});

test('entry names cannot drive the terminal; JSON keeps them raw', () => {
  const hostile = 'extensions/demo\x1b[2K\r\x1b[32mno problems found\x1b[0m\n';
  const result = report([{ name: hostile, data: 'not a script' }, symlink('lib/link', '\x1b]0;title\x07../../x')]);
  const text = formatReport(result);
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(text, /\r|\x1b\[2K|\x1b\]0;|\x07/);
  assert.match(text, /\\x1b\[2K\\x0d/);
  assert.ok(result.findings.some((finding) => finding.path === hostile));
  assert.ok(JSON.stringify(result).includes('\\u001b[2K\\r'));
});

test(
  'ext inspect streams large entries: sizes, CRCs and lies are still caught',
  { timeout: scaled(20_000) },
  async () => {
    const directory = await mkdtemp(path.join(os.tmpdir(), 'inspect-stream-'));
    try {
      const zipFile = path.join(directory, 'layer-arm64.zip');
      const big = Buffer.alloc(8 * 1024 * 1024, 7);
      await writeFile(
        zipFile,
        buildZip([
          { name: 'extensions/demo', data: Buffer.concat([staticArm, big]), mode: 0o100755 },
          { name: 'lib/corrupt', data: big, crc: 1 },
          { name: 'lib/liar', data: Buffer.concat([big, big]), uncompressedSize: big.length + 10 },
        ]),
      );
      const result = await inspect(zipFile);
      assert.equal(result.extensions[0]?.kind, 'elf');
      assertHas(result, 'error:crc-mismatch', 'lib/corrupt');
      assertHas(result, 'error:unreadable-entry', 'lib/liar');
      assert.equal(result.findings.length, 2, codes(result).join(', '));
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  },
);

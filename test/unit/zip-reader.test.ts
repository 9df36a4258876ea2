import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  declaredUncompressedBytes,
  entryCrc32,
  formatDosDateTime,
  isDirectoryEntry,
  isExecutableEntry,
  isSymlinkEntry,
  localHeaderMismatches,
  overlappingEntries,
  readEntryData,
  readZip,
  streamEntryData,
  unixMode,
  ZipFormatError,
} from '../../src/core/zip/index.js';
import { buildZip } from '../helpers/zip-fixtures.js';

test('reads names, made-by, modes, sizes and data of stored and deflated entries', () => {
  const zip = buildZip([
    { name: 'extensions/' },
    { name: 'extensions/demo', data: 'hello hello hello hello', mode: 0o100755 },
    { name: 'empty', data: '', method: 0 },
  ]);
  const archive = readZip(zip);
  assert.deepEqual(
    archive.entries.map((entry) => entry.name),
    ['extensions/', 'extensions/demo', 'empty'],
  );
  const [folder, demo, empty] = archive.entries;
  assert.equal(demo!.platform, 3);
  assert.equal(demo!.method, 8);
  assert.equal(unixMode(demo!)! & 0o7777, 0o755);
  assert.equal(isExecutableEntry(demo!), true);
  assert.equal(isExecutableEntry(empty!), false);
  assert.equal(isDirectoryEntry(folder!), true);
  assert.equal(isDirectoryEntry(demo!), false);
  const data = readEntryData(zip, demo!);
  assert.equal(data.toString(), 'hello hello hello hello');
  assert.equal(entryCrc32(data), demo!.crc32);
  assert.equal(readEntryData(zip, empty!).length, 0);
  assert.equal(formatDosDateTime(demo!.dosDate, demo!.dosTime), '1980-01-01 00:00:00');
});

test('handles data descriptors, DOS made-by, symlinks and extra fields', () => {
  const extra = Buffer.from([0x55, 0x54, 0x05, 0x00, 0x03, 0x01, 0x02, 0x03, 0x04]);
  const zip = buildZip([
    { name: 'a', data: 'streamed data', dataDescriptor: true, extra },
    { name: 'b', data: 'dos', platform: 0 },
    { name: 'link', data: '../target', mode: 0o120777, method: 0 },
  ]);
  const [streamed, dos, link] = readZip(zip).entries;
  assert.equal(readEntryData(zip, streamed!).toString(), 'streamed data');
  assert.deepEqual(
    streamed!.extraFields.map((field) => field.id),
    [0x5455],
  );
  assert.deepEqual(
    streamed!.localExtraFields.map((field) => field.id),
    [0x5455],
  );
  assert.equal(dos!.platform, 0);
  assert.equal(unixMode(dos!), undefined);
  assert.equal(isExecutableEntry(dos!), undefined);
  assert.equal(isSymlinkEntry(link!), true);
});

test('a wrong CRC is visible to the caller, not thrown', () => {
  const zip = buildZip([{ name: 'x', data: 'payload', crc: 0x12345678 }]);
  const [entry] = readZip(zip).entries;
  assert.notEqual(entryCrc32(readEntryData(zip, entry!)), entry!.crc32);
});

test('not-a-zip, truncated and damaged inputs raise ZipFormatError', () => {
  const good = buildZip([{ name: 'extensions/demo', data: 'x'.repeat(1000), mode: 0o100755 }]);
  assert.throws(() => readZip(Buffer.from('#!/bin/sh\necho this is a script, not a zip\n')), ZipFormatError);
  assert.throws(() => readZip(Buffer.alloc(3)), /too short/);
  assert.throws(() => readZip(good.subarray(0, good.length - 10)), ZipFormatError);
  assert.throws(() => readZip(good.subarray(20)), ZipFormatError);
  const corrupt = Buffer.from(good);
  const entry = readZip(good).entries[0]!;
  corrupt.fill(0xff, entry.dataOffset, entry.dataOffset + 8);
  assert.throws(() => readEntryData(corrupt, readZip(corrupt).entries[0]!), ZipFormatError);
  const unsupported = buildZip([{ name: 'x', data: 'abc' }]);
  unsupported.writeUInt16LE(12, readZip(unsupported).entries[0]!.localHeaderOffset + 8); // local header only
  const central = readZip(unsupported).entries[0]!;
  assert.doesNotThrow(() => readEntryData(unsupported, central));
  const centralOffset = unsupported.length - 22 - 47;
  unsupported.writeUInt16LE(12, centralOffset + 10);
  assert.throws(() => readEntryData(unsupported, readZip(unsupported).entries[0]!), /method 12/);
});

test('ordinary zips have no overlaps and no local header mismatches, data descriptors included', () => {
  const zip = buildZip([
    { name: 'extensions/' },
    { name: 'extensions/demo', data: 'hello', mode: 0o100755 },
    { name: 'streamed', data: 'streamed data', dataDescriptor: true },
    { name: 'empty', data: '', method: 0 },
  ]);
  const archive = readZip(zip);
  assert.deepEqual(overlappingEntries(archive), []);
  for (const entry of archive.entries) assert.deepEqual(localHeaderMismatches(entry), [], entry.name);
  assert.equal(declaredUncompressedBytes(archive), 'hello'.length + 'streamed data'.length);
});

test('streamEntryData writes chunks, checks size and CRC, and stops past the declared size', async () => {
  const zip = buildZip([
    { name: 'ok', data: 'x'.repeat(100_000) },
    { name: 'liar', data: Buffer.alloc(1_000_000), uncompressedSize: 10 },
    { name: 'bad-crc', data: 'payload', crc: 1 },
  ]);
  const [ok, liar, badCrc] = readZip(zip).entries;
  const chunks: Buffer[] = [];
  await streamEntryData(zip, ok!, async (chunk) => chunks.push(chunk));
  assert.equal(Buffer.concat(chunks).toString(), 'x'.repeat(100_000));
  let written = 0;
  await assert.rejects(
    streamEntryData(zip, liar!, async (chunk) => (written += chunk.length)),
    /inflates to more than the 10 bytes/,
  );
  assert.equal(written, 0);
  await assert.rejects(
    streamEntryData(zip, badCrc!, async () => {}),
    /CRC-32/,
  );
});

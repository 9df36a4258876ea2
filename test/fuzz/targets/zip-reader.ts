import fc from 'fast-check';
import { CliError } from '../../../src/core/errors.js';
import { inspectZipBuffer } from '../../../src/core/inspect/index.js';
import {
  checkEntryData,
  localHeaderMismatches,
  overlappingEntries,
  readZip,
  streamEntryHead,
  ZipFormatError,
} from '../../../src/core/zip/index.js';
import { extensionEntry, overlappingEntriesZip } from '../../helpers/hostile-zips.js';
import { buildZip } from '../../helpers/zip-fixtures.js';
import { check, runForBudget, type FuzzTarget } from '../harness.js';

/** A zip64 end record and locator in front of `zip`'s end record, as zip64 writers place them. */
function withZip64Records(zip: Buffer): Buffer {
  const endOffset = zip.length - 22;
  const record = Buffer.alloc(56);
  record.writeUInt32LE(0x06064b50, 0);
  record.writeBigUInt64LE(44n, 4);
  record.writeUInt16LE(45, 12);
  record.writeUInt16LE(45, 14);
  const count = BigInt(zip.readUInt16LE(endOffset + 10));
  record.writeBigUInt64LE(count, 24);
  record.writeBigUInt64LE(count, 32);
  record.writeBigUInt64LE(BigInt(zip.readUInt32LE(endOffset + 12)), 40);
  record.writeBigUInt64LE(BigInt(zip.readUInt32LE(endOffset + 16)), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(endOffset), 8);
  locator.writeUInt32LE(1, 16);
  return Buffer.concat([zip.subarray(0, endOffset), record, locator, zip.subarray(endOffset)]);
}

const zip64Extra = (): Buffer => {
  const extra = Buffer.alloc(4 + 24);
  extra.writeUInt16LE(0x0001, 0);
  extra.writeUInt16LE(24, 2);
  return extra;
};

/** Valid and near-valid zips the mutations start from: every header kind the reader parses. */
export function seedZips(): Buffer[] {
  const layer = buildZip([
    { name: 'extensions/' },
    extensionEntry,
    { name: 'lib/data.txt', data: 'hello '.repeat(200) },
    { name: 'lib/empty', data: '' },
    { name: 'lib/stored', data: 'stored bytes', method: 0 },
  ]);
  return [
    layer,
    withZip64Records(layer),
    buildZip([
      { ...extensionEntry, dataDescriptor: true },
      { name: 'a/b/c', data: Buffer.alloc(4096, 7) },
    ]),
    buildZip([
      { ...extensionEntry, extra: zip64Extra() },
      { name: 'dos.txt', data: 'x', platform: 0 },
    ]),
    buildZip([{ name: 'extensions/link', data: 'demo', mode: 0o120777, method: 0 }, extensionEntry]),
    overlappingEntriesZip(3, 64 * 1024),
  ];
}

type Mutation =
  | { kind: 'flip'; offset: number; value: number }
  | { kind: 'truncate'; length: number }
  | { kind: 'splice'; from: number; to: number; length: number }
  | { kind: 'number'; offset: number; width: 2 | 4; value: number }
  | { kind: 'insert'; offset: number; bytes: Uint8Array }
  | { kind: 'cut'; offset: number; length: number };

const position = fc.double({ min: 0, max: 1, noNaN: true });
const interesting = fc.oneof(
  fc.constantFrom(0, 1, 0xff, 0xffff, 0xffffffff, 0x7fffffff, 0x80000000, 22, 30, 46),
  fc.nat({ max: 0xffffffff }),
);

interface RawMutation {
  kind: string;
  a: number;
  b: number;
  c: number;
  bytes: Uint8Array;
  width: 2 | 4;
}

const mutation: fc.Arbitrary<RawMutation> = fc.record({
  kind: fc.constantFrom('flip', 'truncate', 'splice', 'number', 'insert', 'cut'),
  a: position,
  b: position,
  c: interesting,
  bytes: fc.uint8Array({ maxLength: 64 }),
  width: fc.constantFrom(2 as const, 4 as const),
});

/** Offsets are drawn as fractions, so that they land inside whatever length earlier mutations left. */
function toMutation(raw: RawMutation, length: number): Mutation {
  const at = (fraction: number): number => Math.min(length, Math.floor(fraction * (length + 1)));
  switch (raw.kind) {
    case 'flip':
      return { kind: 'flip', offset: at(raw.a), value: raw.c & 0xff };
    case 'truncate':
      return { kind: 'truncate', length: at(raw.a) };
    case 'splice':
      return { kind: 'splice', from: at(raw.a), to: at(raw.b), length: raw.c % 128 };
    case 'number':
      return { kind: 'number', offset: at(raw.a), width: raw.width, value: raw.width === 2 ? raw.c & 0xffff : raw.c };
    case 'insert':
      return { kind: 'insert', offset: at(raw.a), bytes: raw.bytes };
    default:
      return { kind: 'cut', offset: at(raw.a), length: raw.c % 256 };
  }
}

export function applyMutation(zip: Buffer, change: Mutation): Buffer {
  switch (change.kind) {
    case 'flip': {
      if (change.offset >= zip.length) return zip;
      const copy = Buffer.from(zip);
      copy[change.offset] = change.value;
      return copy;
    }
    case 'truncate':
      return zip.subarray(0, change.length);
    case 'splice': {
      // Copies a run of bytes (often a header) over another place in the file.
      const copy = Buffer.from(zip);
      zip.copy(copy, change.to, change.from, Math.min(zip.length, change.from + change.length));
      return copy;
    }
    case 'number': {
      if (change.offset + change.width > zip.length) return zip;
      const copy = Buffer.from(zip);
      if (change.width === 2) copy.writeUInt16LE(change.value, change.offset);
      else copy.writeUInt32LE(change.value >>> 0, change.offset);
      return copy;
    }
    case 'insert':
      return Buffer.concat([zip.subarray(0, change.offset), change.bytes, zip.subarray(change.offset)]);
    case 'cut':
      return Buffer.concat([zip.subarray(0, change.offset), zip.subarray(change.offset + change.length)]);
  }
}

const isFormatError = (error: unknown): boolean => error instanceof ZipFormatError;

/**
 * Everything the toolkit does with an untrusted zip, on one buffer: the only
 * errors allowed are ZipFormatError from the reader and CliError from inspect.
 */
export async function exerciseZip(zip: Buffer): Promise<void> {
  let archive;
  try {
    archive = readZip(zip);
  } catch (error) {
    check(isFormatError(error), () => `readZip threw ${String(error)}`);
    archive = undefined;
  }
  if (archive !== undefined) {
    for (const entry of archive.entries) localHeaderMismatches(entry);
    overlappingEntries(archive);
    for (const entry of archive.entries.slice(0, 16)) {
      // Only what the inspect structure checks would let through: bounded declared sizes.
      if (entry.uncompressedSize > 8 * 1024 * 1024) continue;
      try {
        const checked = checkEntryData(zip, entry, 64);
        check(checked.head.length <= 64, () => 'checkEntryData kept more than asked');
      } catch (error) {
        check(isFormatError(error), () => `checkEntryData threw ${String(error)}`);
      }
      try {
        await streamEntryHead(zip, entry, 64);
      } catch (error) {
        check(isFormatError(error), () => `streamEntryHead threw ${String(error)}`);
      }
    }
  }
  try {
    inspectZipBuffer(zip, 'fuzz.zip');
  } catch (error) {
    check(error instanceof CliError, () => `inspect threw ${error instanceof Error ? error.stack : String(error)}`);
    check(/not a readable zip/.test(error.message), () => `inspect threw an unexpected CliError: ${error.message}`);
  }
}

/** Per case; only a pathological (super-linear) path could take this long on a few-KB zip. */
const maximumCaseMs = 10_000;
/** The buffers one case may leave allocated; a few KB of zip must never cost hundreds of MB. */
const maximumArrayBufferBytes = 256 * 1024 * 1024;

export const zipReaderTarget: FuzzTarget = {
  name: 'zip-reader',
  description:
    'mutated zips (flipped bytes, truncations, spliced headers, random lengths and offsets, zip64 records): the reader only throws ZipFormatError, inspect only its "not a readable zip" CliError, in bounded time and memory',
  run(budget) {
    const seeds = seedZips();
    const property = fc.asyncProperty(
      fc.nat({ max: seeds.length - 1 }),
      fc.array(mutation, { minLength: 1, maxLength: 6 }),
      async (seedIndex, rawMutations) => {
        let zip = seeds[seedIndex]!;
        for (const raw of rawMutations) zip = applyMutation(zip, toMutation(raw, zip.length));
        const started = Date.now();
        await exerciseZip(zip);
        const elapsed = Date.now() - started;
        check(elapsed < maximumCaseMs, () => `a ${zip.length}-byte zip took ${elapsed} ms`);
        const buffers = process.memoryUsage().arrayBuffers;
        check(buffers < maximumArrayBufferBytes, () => `${buffers} bytes of buffers after a ${zip.length}-byte zip`);
      },
    );
    return runForBudget(this.name, property, budget);
  },
};

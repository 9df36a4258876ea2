import { buildZip, type RawZipEntry } from './zip-fixtures.js';

/** A harmless extension, so a hostile zip is not refused merely for lacking one. */
export const extensionEntry: RawZipEntry = {
  name: 'extensions/demo',
  data: '#!/bin/sh\nexec sleep 1\n',
  mode: 0o100755,
};

export const symlink = (name: string, target: string): RawZipEntry => ({
  name,
  data: target,
  mode: 0o120777,
  method: 0,
});

/**
 * Links that each look harmless as text but climb out of the unpack folder
 * once earlier links exist on disk: `y -> .` makes "y/.." the parent of the
 * root, `h1/y` is then written in that parent, and `h2 -> y/../y/..` lands
 * two levels up, where `h2/victim/file` is written.
 */
export function symlinkChainZip(): Buffer {
  return buildZip([
    extensionEntry,
    symlink('y', '.'),
    symlink('h1', 'y/..'),
    symlink('h1/y', '.'),
    symlink('h2', 'y/../y/..'),
    { name: 'h2/victim/file', data: 'written outside the layer' },
  ]);
}

/**
 * One real deflate stream of `streamBytes` zeros, and `count` central
 * directory entries that all point at it (the classic overlapping-entry bomb).
 */
export function overlappingEntriesZip(count: number, streamBytes = 1024 * 1024): Buffer {
  const single = buildZip([{ name: 'extensions/demo', data: Buffer.alloc(streamBytes), mode: 0o100755 }]);
  const endOffset = single.length - 22;
  const directoryOffset = single.readUInt32LE(endOffset + 16);
  const central = single.subarray(directoryOffset, endOffset);
  const copies: Buffer[] = [];
  for (let index = 0; index < count; index++) {
    const copy = Buffer.from(central);
    // Distinct names of the same length ("lib/x00000001"...), so each copy is a file of its own.
    if (index > 0) copy.write(`lib/x${String(index).padStart('extensions/demo'.length - 5, '0')}`, 46, 'latin1');
    copies.push(copy);
  }
  const directory = Buffer.concat(copies);
  const end = Buffer.from(single.subarray(endOffset));
  end.writeUInt16LE(count, 8);
  end.writeUInt16LE(count, 10);
  end.writeUInt32LE(directory.length, 12);
  return Buffer.concat([single.subarray(0, directoryOffset), directory, end]);
}

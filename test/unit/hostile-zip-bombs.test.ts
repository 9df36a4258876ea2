import assert from 'node:assert/strict';
import { scaled } from '../helpers/time-scale.js';
import { mkdir, mkdtemp, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { extractLayerZip } from '../../src/core/layer/unpack.js';
import { CliError } from '../../src/core/errors.js';
import { inspect } from '../../src/core/inspect/index.js';
import { maximumZipFileBytes } from '../../src/core/layer/index.js';
import { extensionEntry, overlappingEntriesZip } from '../helpers/hostile-zips.js';
import { buildZip } from '../helpers/zip-fixtures.js';

const roots: string[] = [];
after(() => Promise.all(roots.map((root) => rm(root, { recursive: true, force: true }))));

async function sandbox(zip: Buffer): Promise<{ destination: string; zipFile: string }> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'zip-bomb-'));
  roots.push(root);
  const destination = path.join(root, 'unpacked');
  await mkdir(destination);
  const zipFile = path.join(root, 'layer.zip');
  await writeFile(zipFile, zip);
  return { destination, zipFile };
}

async function assertRefused(zip: Buffer, pattern: RegExp, limitBytes?: number, code?: string): Promise<void> {
  const { destination, zipFile } = await sandbox(zip);
  await assert.rejects(
    extractLayerZip(zipFile, destination, limitBytes === undefined ? {} : { limitBytes }),
    (error: Error) => {
      assert.ok(error instanceof CliError, String(error));
      assert.match(error.message, pattern);
      if (code !== undefined) assert.equal(error.code, code);
      assert.ok(error.message.includes(zipFile), `names the zip: ${error.message}`);
      assert.ok(!error.message.includes(destination), `does not name the temp folder: ${error.message}`);
      return true;
    },
  );
  assert.deepEqual(await readdir(destination), [], 'nothing is left behind');
}

test(
  'ext dev refuses a layer whose entries declare more than 250 MB, before inflating anything',
  { timeout: scaled(10_000) },
  async () => {
    await assertRefused(
      buildZip([extensionEntry, { name: 'big', data: 'small', uncompressedSize: 300 * 1024 * 1024 }]),
      /250 MB unzipped limit/,
    );
  },
);

test('ext dev stops inflating an entry at its declared size', { timeout: scaled(10_000) }, async () => {
  // 8 MiB of zeros declared as 1 KiB: inflation must stop after about 1 KiB, not write 8 MiB.
  await assertRefused(
    buildZip([extensionEntry, { name: 'liar', data: Buffer.alloc(8 * 1024 * 1024), uncompressedSize: 1024 }]),
    /inflates to more than/,
  );
});

test('ext dev applies the limit to all entries together', { timeout: scaled(10_000) }, async () => {
  const chunk = Buffer.alloc(64 * 1024);
  await assertRefused(
    buildZip([extensionEntry, { name: 'a', data: chunk }, { name: 'b', data: chunk }]),
    /limit/,
    100 * 1024,
  );
});

test('ext dev refuses overlapping entries (one stream, many names)', { timeout: scaled(10_000) }, async () => {
  await assertRefused(overlappingEntriesZip(50, 64 * 1024), /shares its bytes/);
});

test('ext dev checks CRCs while unpacking', { timeout: scaled(10_000) }, async () => {
  await assertRefused(buildZip([extensionEntry, { name: 'lib/data', data: 'payload', crc: 0x12345678 }]), /CRC-32/);
});

test('ext dev refuses a zip with no file under extensions/, naming the zip', { timeout: scaled(10_000) }, async () => {
  await assertRefused(
    buildZip([{ name: 'extensions/' }, { name: 'bin/tool', data: 'x', mode: 0o100755 }]),
    /./,
    undefined,
    'E_LAYER_NO_EXTENSIONS',
  );
});

test(
  'ext dev refuses entries whose local header disagrees with the central directory',
  { timeout: scaled(10_000) },
  async () => {
    await assertRefused(
      buildZip([extensionEntry, { name: 'lib/a', data: 'abc', local: { name: 'lib/b' } }]),
      /local header.*name/,
    );
  },
);

test(
  'inspect and ext dev refuse non-regular files and files larger than any layer zip',
  { timeout: scaled(10_000) },
  async () => {
    const withCode = (code: string) => (error: unknown) => error instanceof CliError && error.code === code;
    await assert.rejects(inspect('/dev/zero'), withCode('E_ZIP_NOT_A_FILE'));
    const { destination, zipFile } = await sandbox(Buffer.alloc(0));
    await assert.rejects(extractLayerZip('/dev/zero', destination), withCode('E_ZIP_NOT_A_FILE'));
    // Sparse: no disk is used, but the size is over the cap.
    await truncate(zipFile, maximumZipFileBytes + 1);
    await assert.rejects(inspect(zipFile), withCode('E_ZIP_TOO_LARGE'));
    await assert.rejects(extractLayerZip(zipFile, destination), withCode('E_ZIP_TOO_LARGE'));
  },
);

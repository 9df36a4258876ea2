import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readdir, readlink, stat, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { elfMachine, hostArchitecture, type Architecture } from '../../src/core/layer/architectures.js';
import { prepareCpuEmulation } from '../../src/core/emulator/cpu-emulation/index.js';
import { CliError } from '../../src/core/errors.js';
import { unzippedLimitBytes } from '../../src/core/layer/index.js';
import { temporaryFolders } from '../helpers/paths.js';
import { elfImage } from '../helpers/zip-fixtures.js';

const host: Architecture = hostArchitecture() ?? 'x86_64';
const foreign: Architecture = host === 'arm64' ? 'x86_64' : 'arm64';

const temporary = temporaryFolders();

/**
 * A layer folder whose launcher execs a program of the other architecture, so that ext dev --arch <it>
 * runs it from a private copy with a qemu wrapper (a fake qemu here: nothing is run).
 */
async function foreignLayer(): Promise<{ layer: string; request: Parameters<typeof prepareCpuEmulation>[0] }> {
  const layer = await temporary('emulated-folder-');
  await mkdir(path.join(layer, 'extensions'));
  await mkdir(path.join(layer, 'ext', 'bin'), { recursive: true });
  await writeFile(path.join(layer, 'extensions', 'ext'), '#!/bin/sh\nexec "${0%/*}/../ext/bin/tool"\n');
  await chmod(path.join(layer, 'extensions', 'ext'), 0o755);
  await writeFile(path.join(layer, 'ext', 'bin', 'tool'), elfImage({ machine: elfMachine(foreign) }));
  await chmod(path.join(layer, 'ext', 'bin', 'tool'), 0o755);
  const tools = await temporary('fake-qemu-');
  const qemu = path.join(tools, foreign === 'arm64' ? 'qemu-aarch64' : 'qemu-x86_64');
  await writeFile(qemu, '#!/bin/sh\nexit 0\n');
  await chmod(qemu, 0o755);
  return {
    layer,
    request: {
      layerDirectory: layer,
      ownsLayer: false,
      shownAs: layer,
      searchPath: tools,
      binfmtDirectory: path.join(tools, 'no-binfmt'),
      architecture: foreign,
    },
  };
}

async function emulatedCopies(): Promise<string[]> {
  return (await readdir(os.tmpdir())).filter((name) => name.startsWith('ext-dev-emulated-'));
}

test('a FIFO in a layer folder run under emulation is a one-line error naming it, not an internal error', async () => {
  const { layer, request } = await foreignLayer();
  const fifo = path.join(layer, 'ext', 'pipe');
  execFileSync('mkfifo', [fifo]);
  const before = await emulatedCopies();
  await assert.rejects(prepareCpuEmulation(request), (error: unknown) => {
    assert.ok(error instanceof CliError, String(error));
    assert.equal(
      error.message,
      `--layer: ${fifo} is a FIFO, which no layer can hold (a layer zip keeps files, folders and links)`,
    );
    return true;
  });
  assert.deepEqual(await emulatedCopies(), before, 'the private copy is removed');
});

test("a sparse file larger than Lambda's unzipped limit is refused, not inflated into the temporary folder", async () => {
  const { layer, request } = await foreignLayer();
  const sparse = path.join(layer, 'ext', 'sparse.bin');
  await writeFile(sparse, '');
  await truncate(sparse, unzippedLimitBytes + 10 * 1024 * 1024);
  assert.ok((await stat(sparse)).blocks * 512 < 1024 * 1024, 'the fixture itself takes no room');
  await assert.rejects(prepareCpuEmulation(request), (error: unknown) => {
    assert.ok(error instanceof CliError, String(error));
    assert.match(
      error.message,
      /^--layer: .* holds more than 262144000 bytes of files .*over Lambda's 250 MB unzipped limit$/,
    );
    return true;
  });
});

test('a layer folder within the limits is copied whole: files with their modes, folders and links', async () => {
  const { layer, request } = await foreignLayer();
  await writeFile(path.join(layer, 'ext', 'data.txt'), 'data');
  execFileSync('ln', ['-s', 'data.txt', path.join(layer, 'ext', 'link')]);
  const prepared = await prepareCpuEmulation(request);
  try {
    assert.notEqual(prepared.layerDirectory, layer);
    const copy = prepared.layerDirectory;
    assert.equal((await stat(path.join(copy, 'extensions', 'ext'))).mode & 0o777, 0o755);
    assert.deepEqual((await readdir(path.join(copy, 'ext'))).sort(), ['bin', 'data.txt', 'link']);
    assert.equal(await readlink(path.join(copy, 'ext', 'link')), 'data.txt');
  } finally {
    await prepared.cleanup();
  }
});

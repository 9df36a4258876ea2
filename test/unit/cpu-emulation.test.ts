import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { elfMachine, hostArchitecture, type Architecture } from '../../src/core/layer/architectures.js';
import {
  binfmtHandlerFor,
  emulatedLaunch,
  hiddenProgramName,
  isProgram,
  layerArchitecture,
  parseBinfmtHandler,
  prepareCpuEmulation,
  readBinfmtHandlers,
  type LayerBinary,
} from '../../src/core/emulator/cpu-emulation/index.js';
import { CliError } from '../../src/core/errors.js';
import type { CpuEmulation } from '../../src/core/emulator/types.js';
import { fakeQemu } from '../helpers/fake-qemu.js';
import { elfImage } from '../helpers/zip-fixtures.js';
import { temporaryFolders } from '../helpers/paths.js';

const host: Architecture = hostArchitecture() ?? 'x86_64';
const foreign: Architecture = host === 'arm64' ? 'x86_64' : 'arm64';

const temporary = temporaryFolders();

/** The entry Debian's qemu-user-binfmt registers for aarch64 (the magic and mask of qemu's scripts/qemu-binfmt-conf.sh). */
const debianAarch64 = `enabled
interpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P
flags: POCF
offset 0
magic 7f454c460201010000000000000000000200b700
mask ffffffffffffff00fffffffffffffffffeffffff
`;

describe('binfmt_misc detection', () => {
  test("Debian's aarch64 handler runs arm64 executables, static and PIE, and nothing else", () => {
    const handler = parseBinfmtHandler('qemu-aarch64', debianAarch64);
    assert.ok(handler);
    assert.equal(handler.interpreter, '/usr/libexec/qemu-binfmt/aarch64-binfmt-P');
    assert.equal(handler.flags, 'POCF');
    assert.equal(binfmtHandlerFor([handler], 'arm64'), handler);
    assert.equal(binfmtHandlerFor([handler], 'x86_64'), undefined);
  });

  test('a disabled handler, or one that misses PIE executables, does not count', () => {
    const disabled = parseBinfmtHandler('qemu-aarch64', debianAarch64.replace('enabled', 'disabled'))!;
    assert.equal(binfmtHandlerFor([disabled], 'arm64'), undefined);
    // The mask keeps e_type whole: ET_EXEC only, so a PIE binary would still fail with ENOEXEC.
    const staticOnly = parseBinfmtHandler('static', debianAarch64.replace('fffeffffff', 'ffffffffff'))!;
    assert.equal(binfmtHandlerFor([staticOnly], 'arm64'), undefined);
    assert.equal(
      parseBinfmtHandler('jar', 'enabled\ninterpreter /usr/bin/jexec\nflags: \nextension .jar\n'),
      undefined,
    );
  });

  test('reads the handlers of a binfmt_misc folder, none when it is disabled as a whole', async () => {
    const folder = await temporary('binfmt-');
    await writeFile(path.join(folder, 'register'), '');
    await writeFile(path.join(folder, 'status'), 'enabled\n');
    await writeFile(path.join(folder, 'qemu-aarch64'), debianAarch64);
    const handlers = await readBinfmtHandlers(folder);
    assert.deepEqual(
      handlers.map((handler) => handler.name),
      ['qemu-aarch64'],
    );
    await writeFile(path.join(folder, 'status'), 'disabled\n');
    assert.deepEqual(await readBinfmtHandlers(folder), []);
    assert.deepEqual(await readBinfmtHandlers(path.join(folder, 'not-mounted')), []);
  });
});

const binary = (name: string, overrides: Partial<LayerBinary> = {}): LayerBinary => ({
  name,
  file: `/layer/${name}`,
  machine: elfMachine('arm64'),
  type: 2,
  executable: true,
  ...overrides,
});

test('programs are executable ELF files that are not shared libraries', () => {
  assert.equal(isProgram(binary('extensions/go-ext')), true);
  assert.equal(isProgram(binary('ts/bin/node', { type: 3, interpreter: '/lib/ld-linux-aarch64.so.1' })), true);
  assert.equal(isProgram(binary('lib/libc.so.6', { type: 3, interpreter: '/lib/ld-linux-aarch64.so.1' })), false);
  assert.equal(isProgram(binary('lib/libfoo.so', { type: 3 })), false);
  // A Node addon: ET_DYN, often mode 0755, no interpreter, no .so in its name; the loader opens it, not exec.
  assert.equal(isProgram(binary('node_modules/x/build/Release/x.node', { type: 3 })), false);
  assert.equal(isProgram(binary('bin/rust-tool', { type: 3, staticPie: true })), true);
  assert.equal(isProgram(binary('bin/tool', { executable: false })), false);
  assert.equal(isProgram(binary('lib/object.o', { type: 1 })), false);
});

test("the layer's architecture: its extensions' ELF files first, then any ELF file, then its name", () => {
  const x86 = elfMachine('x86_64');
  assert.deepEqual(
    layerArchitecture([binary('bin/helper', { machine: x86 }), binary('extensions/ext')], 'layer-x86_64.zip'),
    { architecture: 'arm64', source: 'ELF header' },
  );
  assert.deepEqual(layerArchitecture([binary('bin/helper', { machine: x86 })], 'layer.zip'), {
    architecture: 'x86_64',
    source: 'ELF header',
  });
  assert.deepEqual(layerArchitecture([], 'dist/my-ext-arm64.zip'), { architecture: 'arm64', source: 'file name' });
  assert.equal(layerArchitecture([], 'layer.zip'), undefined);
});

test('explicit mode starts a foreign ELF file through qemu with argv[0] kept; binfmt mode and scripts exec as they are', async () => {
  const folder = await temporary('launch-');
  const elf = path.join(folder, 'ext');
  await writeFile(elf, elfImage({ machine: elfMachine(foreign) }), { mode: 0o755 });
  const script = path.join(folder, 'launcher');
  await writeFile(script, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  const emulation: CpuEmulation = {
    architecture: foreign,
    hostArchitecture: host,
    mode: 'qemu',
    emulator: '/usr/bin/qemu',
    limitFactor: 10,
  };
  assert.deepEqual(await emulatedLaunch(elf, emulation), { command: '/usr/bin/qemu', args: ['-0', elf, elf] });
  assert.equal(await emulatedLaunch(script, emulation), undefined);
  assert.equal(await emulatedLaunch(elf, { ...emulation, mode: 'binfmt' }), undefined);
  assert.equal(await emulatedLaunch(elf, undefined), undefined);
});

describe('prepareCpuEmulation', () => {
  async function foreignLayer(): Promise<string> {
    const layer = await temporary('emulated-layer-');
    await mkdir(path.join(layer, 'extensions'));
    await mkdir(path.join(layer, 'ext', 'bin'), { recursive: true });
    await writeFile(path.join(layer, 'extensions', 'ext'), '#!/bin/sh\nexec "${0%/*}/../ext/bin/tool"\n', {
      mode: 0o755,
    });
    await writeFile(path.join(layer, 'ext', 'bin', 'tool'), elfImage({ machine: elfMachine(foreign) }), {
      mode: 0o755,
    });
    await chmod(path.join(layer, 'ext', 'bin', 'tool'), 0o755);
    await chmod(path.join(layer, 'extensions', 'ext'), 0o755);
    return layer;
  }
  const qemuName = foreign === 'arm64' ? 'qemu-aarch64' : 'qemu-x86_64';

  test('explicit mode wraps the programs a launcher execs, in a private copy of a layer it does not own', async () => {
    const layer = await foreignLayer();
    const tools = await temporary('qemu-path-');
    const emulator = await fakeQemu(tools, qemuName);
    const prepared = await prepareCpuEmulation({
      layerDirectory: layer,
      ownsLayer: false,
      shownAs: layer,
      searchPath: tools,
      binfmtDirectory: path.join(tools, 'no-binfmt'),
    });
    try {
      assert.equal(prepared.functionArchitecture, foreign);
      assert.equal(prepared.architectureSource, 'ELF header');
      assert.deepEqual(prepared.cpuEmulation, {
        architecture: foreign,
        hostArchitecture: host,
        mode: 'qemu',
        emulator,
        limitFactor: 10,
      });
      assert.notEqual(prepared.layerDirectory, layer);
      const wrapper = await readFile(path.join(prepared.layerDirectory, 'ext', 'bin', 'tool'), 'utf8');
      assert.match(wrapper, /^#!\/bin\/sh\n/);
      assert.equal((await stat(path.join(prepared.layerDirectory, 'ext', 'bin', 'tool'))).mode & 0o777, 0o755);
      const hidden = path.join(prepared.layerDirectory, 'ext', 'bin', hiddenProgramName('tool', foreign));
      assert.equal((await readFile(hidden)).readUInt16LE(18), elfMachine(foreign));
      // The user's folder is untouched.
      assert.equal((await readFile(path.join(layer, 'ext', 'bin', 'tool'))).readUInt16LE(18), elfMachine(foreign));
    } finally {
      await prepared.cleanup();
    }
    await assert.rejects(stat(prepared.layerDirectory), { code: 'ENOENT' });
  });

  test('without qemu: an explicit --arch is an error with the install hint, a detected one a warning', async () => {
    const layer = await foreignLayer();
    const empty = await temporary('empty-path-');
    const request = { layerDirectory: layer, ownsLayer: false, shownAs: 'layer.zip', searchPath: empty };
    const noBinfmt = { binfmtDirectory: path.join(empty, 'no-binfmt') };
    await assert.rejects(prepareCpuEmulation({ ...request, ...noBinfmt, architecture: foreign }), (error: unknown) => {
      assert.ok(error instanceof CliError);
      assert.match(error.message, new RegExp(`cannot run ${foreign} binaries on this ${host} machine: no ${qemuName}`));
      assert.match(error.hint ?? '', /sudo apt-get install qemu-user/);
      return true;
    });
    const prepared = await prepareCpuEmulation({ ...request, ...noBinfmt });
    assert.equal(prepared.cpuEmulation, undefined);
    assert.equal(prepared.functionArchitecture, host);
    assert.equal(prepared.layerDirectory, layer);
    assert.match(prepared.warning ?? '', /install qemu-user/);
    const off = await prepareCpuEmulation({ ...request, preference: 'off' });
    assert.equal(off.cpuEmulation, undefined);
    assert.equal(off.warning, undefined);
  });

  test('a registered binfmt handler is used as it is: nothing wrapped, nothing copied', async () => {
    const layer = await foreignLayer();
    const folder = await temporary('binfmt-');
    await writeFile(path.join(folder, 'status'), 'enabled\n');
    const machine = elfMachine(foreign).toString(16).padStart(2, '0');
    await writeFile(
      path.join(folder, 'qemu'),
      debianAarch64.replace('0200b700', `0200${machine}00`).replace('aarch64-binfmt-P', `${foreign}-binfmt-P`),
    );
    const prepared = await prepareCpuEmulation({
      layerDirectory: layer,
      ownsLayer: false,
      shownAs: layer,
      searchPath: '',
      binfmtDirectory: folder,
    });
    assert.equal(prepared.cpuEmulation?.mode, 'binfmt');
    assert.equal(prepared.cpuEmulation?.emulator, `/usr/libexec/qemu-binfmt/${foreign}-binfmt-P`);
    assert.equal(prepared.layerDirectory, layer);
  });
});

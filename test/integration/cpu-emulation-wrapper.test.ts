import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { hiddenProgramName, wrapperScript } from '../../src/core/emulator/cpu-emulation/index.js';
import type { CpuEmulation } from '../../src/core/emulator/types.js';
import { fakeQemu } from '../helpers/fake-qemu.js';
import { temporaryFolders } from '../helpers/paths.js';

/* Split from test/unit/cpu-emulation.test.ts: this one runs the wrapper script it writes. */

const temporary = temporaryFolders();

test('a wrapper execs qemu on the hidden original with the argv[0] it was called by, whatever the paths hold', async () => {
  const folder = await temporary("wrap it's-");
  const emulator = await fakeQemu(folder, 'qemu fake');
  const emulation: CpuEmulation = {
    architecture: 'arm64',
    hostArchitecture: 'x86_64',
    mode: 'qemu',
    emulator,
    sysroot: '/usr/aarch64 linux',
    limitFactor: 10,
  };
  const wrapper = path.join(folder, 'node');
  const hidden = path.join(folder, hiddenProgramName('node', 'arm64'));
  assert.equal(path.basename(hidden), '.node.ext-dev-arm64');
  await writeFile(wrapper, wrapperScript(hidden, emulation), { mode: 0o755 });
  const { stdout } = await promisify(execFile)(wrapper, ['one arg', '$HOME']);
  assert.deepEqual(stdout.split('\n').slice(0, -1), [
    '-L',
    '/usr/aarch64 linux',
    '-0',
    wrapper,
    hidden,
    'one arg',
    '$HOME',
  ]);
});

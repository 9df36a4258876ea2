import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { EmulatorReport } from '../../src/core/emulator/types.js';
import { kernelElfRefusal } from '../../src/core/layer/elf.js';
import { runExt } from '../helpers/layer-fixtures.js';

const roots: string[] = [];
after(() => Promise.all(roots.map((root) => rm(root, { recursive: true, force: true }))));

/** A real executable of this machine, so that only the damage we make stands between it and a run. */
const hostExecutable = await readFile('/bin/true');

const damages: { title: string; damage: (elf: Buffer) => void }[] = [
  { title: 'a program header size the kernel does not know', damage: (elf) => elf.writeUInt16LE(57, 0x36) },
  { title: 'no program headers', damage: (elf) => elf.writeUInt16LE(0, 0x38) },
  { title: 'an object file (ET_REL)', damage: (elf) => elf.writeUInt16LE(1, 16) },
  { title: 'an unknown ELF class', damage: (elf) => (elf[4] = 7) },
];

test('the kernel runs the intact executable: no refusal for it', () => {
  assert.equal(kernelElfRefusal(hostExecutable.subarray(0, 4096)), undefined);
});

for (const { title, damage } of damages) {
  test(`an ELF the kernel refuses (${title}) is a LaunchError, never run by /bin/sh`, async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'elf-launch-'));
    roots.push(root);
    const layer = path.join(root, 'layer');
    await mkdir(path.join(layer, 'extensions'), { recursive: true });
    const elf = Buffer.from(hostExecutable);
    damage(elf);
    assert.notEqual(kernelElfRefusal(elf.subarray(0, 4096)), undefined);
    await writeFile(path.join(layer, 'extensions', 'fixture'), elf, { mode: 0o755 });
    const run = await runExt(['dev', '--layer', layer, '--json'], { timeoutMs: 60_000 });
    assert.equal(run.code, 1, run.stderr);
    const report = JSON.parse(run.stdout) as EmulatorReport;
    const verdict = report.verdicts.find((candidate) => candidate.kind === 'launch-error');
    assert.ok(verdict, JSON.stringify(report.verdicts));
    assert.equal(verdict.errorType, 'Extension.LaunchError');
    assert.match(run.stdout + run.stderr, /fork\/exec \S*fixture: exec format error/);
  });
}

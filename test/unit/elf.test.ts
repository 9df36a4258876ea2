import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { elfMachineName, isElf, parseElf } from '../../src/core/layer/elf.js';
import { elfImage } from '../helpers/zip-fixtures.js';

test('static 64-bit little-endian executables have no interpreter', () => {
  const info = parseElf(elfImage({ machine: 183 }));
  assert.deepEqual(info, { bits: 64, endianness: 'little', type: 2, machine: 183 });
});

test('PT_INTERP names the dynamic linker', () => {
  const info = parseElf(elfImage({ machine: 62, type: 3, interpreter: '/lib64/ld-linux-x86-64.so.2' }));
  assert.equal(info?.interpreter, '/lib64/ld-linux-x86-64.so.2');
  assert.equal(info?.type, 3);
});

test('32-bit and big-endian headers are parsed too', () => {
  assert.deepEqual(parseElf(elfImage({ machine: 40, bits: 32, interpreter: '/lib/ld-linux-armhf.so.3' })), {
    bits: 32,
    endianness: 'little',
    type: 2,
    machine: 40,
    interpreter: '/lib/ld-linux-armhf.so.3',
  });
  assert.equal(parseElf(elfImage({ machine: 21, bigEndian: true }))?.endianness, 'big');
  assert.equal(parseElf(elfImage({ machine: 21, bigEndian: true }))?.machine, 21);
});

test('non-ELF data gives undefined; damaged ELF throws', () => {
  assert.equal(parseElf(Buffer.from('#!/bin/sh\n')), undefined);
  assert.equal(isElf(Buffer.from('\x7fEL')), false);
  assert.throws(() => parseElf(elfImage({ machine: 62 }).subarray(0, 40)), /truncated/);
  const image = elfImage({ machine: 62, interpreter: '/lib64/ld-linux-x86-64.so.2' });
  assert.throws(() => parseElf(image.subarray(0, 100)), /beyond the end/);
});

test('machine names', () => {
  assert.equal(elfMachineName(62), 'x86-64');
  assert.equal(elfMachineName(183), 'AArch64');
  assert.equal(elfMachineName(9999), 'machine 9999');
});

test('a real binary of this machine parses', { skip: !existsSync('/bin/sh') }, () => {
  const info = parseElf(readFileSync('/bin/sh'));
  assert.equal(info?.bits, 64);
  assert.ok(info?.machine === 62 || info?.machine === 183);
});

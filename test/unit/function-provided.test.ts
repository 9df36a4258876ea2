import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CliError } from '../../src/core/errors.js';
import type { ErrorCode } from '../../src/core/error-codes.js';
import { prepareFunction } from '../../src/core/function/index.js';
import { elfMachine, hostArchitecture } from '../../src/core/layer/architectures.js';

/**
 * provided.al2023 needs no process to prepare: where the bootstrap is, and
 * whether Lambda could exec it, is read from the files.
 */

const withCode =
  (code: ErrorCode) =>
  (error: unknown): boolean =>
    error instanceof CliError && error.code === code;

let root: string;
let layer: string;
const script = '#!/bin/sh\nexit 0\n';

/** A minimal 64-bit ELF executable header for `architecture`. */
function elf(architecture: 'x86_64' | 'arm64'): Buffer {
  const head = Buffer.alloc(64 + 56);
  head.write('\x7fELF', 0, 'latin1');
  head[4] = 2;
  head[5] = 1;
  head[6] = 1;
  head.writeUInt16LE(2, 16);
  head.writeUInt16LE(elfMachine(architecture), 18);
  head.writeBigUInt64LE(64n, 0x20);
  head.writeUInt16LE(64, 0x34);
  head.writeUInt16LE(56, 0x36);
  head.writeUInt16LE(1, 0x38);
  head.writeUInt32LE(1, 64);
  return head;
}

async function functionWith(name: string, content: string | Buffer, mode = 0o755): Promise<string> {
  const folder = path.join(root, name);
  await mkdir(folder, { recursive: true });
  await writeFile(path.join(folder, 'bootstrap'), content);
  await chmod(path.join(folder, 'bootstrap'), mode);
  return folder;
}

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'function-provided-'));
  layer = path.join(root, 'layer');
  await mkdir(path.join(layer, 'extensions'), { recursive: true });
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('provided.al2023', () => {
  it("starts the function's bootstrap in the task root, with Lambda's environment", async () => {
    const folder = await functionWith('plain', script);
    const prepared = await prepareFunction({ path: folder, runtime: 'provided.al2023', layerDirectory: layer });
    assert.deepEqual(
      { command: prepared.runtime.command, args: prepared.runtime.args, cwd: prepared.runtime.cwd },
      { command: path.join(folder, 'bootstrap'), args: [], cwd: folder },
    );
    assert.equal(prepared.runtime.env['LAMBDA_TASK_ROOT'], folder);
    assert.equal(prepared.runtime.env['_HANDLER'], 'bootstrap');
    assert.equal(prepared.runtimeName, 'provided.al2023');
    assert.deepEqual(prepared.warnings, []);
    await prepared.cleanup();
  });

  it('refuses a bootstrap with no exec bit, or a #! line in CRLF', async () => {
    await assert.rejects(
      prepareFunction({
        path: await functionWith('no-x', script, 0o644),
        runtime: 'provided.al2023',
        layerDirectory: layer,
      }),
      withCode('E_FUNCTION_BOOTSTRAP_UNUSABLE'),
    );
    await assert.rejects(
      prepareFunction({
        path: await functionWith('crlf', '#!/bin/sh\r\nexit 0\r\n'),
        runtime: 'provided.al2023',
        layerDirectory: layer,
      }),
      withCode('E_FUNCTION_BOOTSTRAP_UNUSABLE'),
    );
  });

  it('refuses a bootstrap built for the other architecture, and takes one built for this machine', async (t) => {
    const host = hostArchitecture();
    if (host === undefined) return t.skip('this machine is neither x86_64 nor arm64');
    const other = host === 'x86_64' ? 'arm64' : 'x86_64';
    await assert.rejects(
      prepareFunction({
        path: await functionWith('foreign', elf(other)),
        runtime: 'provided.al2023',
        layerDirectory: layer,
      }),
      withCode('E_FUNCTION_BOOTSTRAP_ARCHITECTURE'),
    );
    const native = await prepareFunction({
      path: await functionWith('native', elf(host)),
      runtime: 'provided.al2023',
      layerDirectory: layer,
    });
    await native.cleanup();
  });

  it('AWS_LAMBDA_EXEC_WRAPPER is not used, as on Lambda, and a warning says so', async () => {
    const prepared = await prepareFunction({
      path: await functionWith('wrapped', script),
      runtime: 'provided.al2023',
      layerDirectory: layer,
      env: { AWS_LAMBDA_EXEC_WRAPPER: '/opt/wrapper' },
    });
    assert.equal(prepared.runtime.command, path.join(root, 'wrapped', 'bootstrap'));
    assert.equal(prepared.warnings.length, 1);
    assert.match(prepared.warnings[0]!, /^AWS_LAMBDA_EXEC_WRAPPER: /);
  });

  it('--pass-aws-credentials without credentials in the shell warns; with them, passes only those three', async () => {
    const folder = await functionWith('credentials', script);
    const none = await prepareFunction({
      path: folder,
      runtime: 'provided.al2023',
      layerDirectory: layer,
      passAwsCredentials: true,
      hostEnvironment: { PATH: '/usr/bin' },
    });
    assert.deepEqual(none.credentials, {});
    assert.match(none.warnings[0] ?? '', /^--pass-aws-credentials: /);
    const some = await prepareFunction({
      path: folder,
      runtime: 'provided.al2023',
      layerDirectory: layer,
      passAwsCredentials: true,
      hostEnvironment: { AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b', AWS_PROFILE: 'p' },
    });
    assert.deepEqual(some.credentials, { AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' });
    assert.equal(some.runtime.env['AWS_ACCESS_KEY_ID'], 'a');
    assert.equal(some.runtime.env['AWS_PROFILE'], undefined);
  });

  it('a function zipped with its folder around it: the hint says so', async () => {
    const outer = path.join(root, 'outer');
    await functionWith(path.join('outer', 'inner'), script);
    await assert.rejects(
      prepareFunction({ path: outer, runtime: 'provided.al2023', layerDirectory: layer }),
      (error: unknown) =>
        error instanceof CliError && error.code === 'E_FUNCTION_BOOTSTRAP_MISSING' && /inner\//.test(error.hint ?? ''),
    );
  });

  it('an unknown runtime or a bad handler fails before anything is opened', async () => {
    await assert.rejects(
      prepareFunction({ path: '/does/not/exist', runtime: 'go1.x', layerDirectory: layer }),
      withCode('E_FUNCTION_RUNTIME_UNKNOWN'),
    );
    await assert.rejects(
      prepareFunction({ path: '/does/not/exist', runtime: 'nodejs22.x', handler: 'nodot', layerDirectory: layer }),
      withCode('E_FUNCTION_HANDLER_INVALID'),
    );
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CliError } from '../../src/core/errors.js';
import { assertDevHost } from '../../src/core/hosts.js';

describe('ext dev refuses a host it cannot run on, in one line', () => {
  for (const [platform, arch, named] of [
    ['darwin', 'arm64', 'macOS'],
    ['win32', 'x64', 'Windows'],
    ['freebsd', 'x64', 'freebsd'],
    ['linux', 'ppc64', 'Linux on ppc64'],
  ] as const) {
    it(`${platform} ${arch}`, () => {
      assert.throws(
        () => assertDevHost(platform, arch),
        (error: unknown) =>
          error instanceof CliError &&
          error.code === 'E_HOST_UNSUPPORTED' &&
          error.exitCode === 1 &&
          error.message.includes(named) &&
          !error.message.includes('\n') &&
          /ext build, pack, inspect and publish work here/.test(error.hint ?? ''),
      );
    });
  }

  for (const arch of ['x64', 'arm64']) {
    it(`runs on linux ${arch}`, () => assert.doesNotThrow(() => assertDevHost('linux', arch)));
  }
});

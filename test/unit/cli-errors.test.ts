import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { architecturesFlag } from '../../src/cli/options.js';
import { commandUsageFailure, errorDocument, reportError, usageFailure } from '../../src/cli/run.js';
import { CancelledError, CliError } from '../../src/core/errors.js';
import { withCode } from '../helpers/error-code.js';

/** What reportError writes to stderr, and the exit code it returns. */
function reported(error: unknown): { stderr: string; exitCode: number } {
  let stderr = '';
  const write = process.stderr.write;
  process.stderr.write = (chunk: string) => {
    stderr += chunk;
    return true;
  };
  try {
    const exitCode = reportError(error);
    return { stderr, exitCode };
  } finally {
    process.stderr.write = write;
  }
}

describe('how a failure is reported', () => {
  it('stderr reads error[CODE]: message, then the hint, rustc-style', () => {
    const error = new CliError('dist/manifest.json: the sources changed', {
      code: 'E_PUBLISH_STALE',
      hint: 'run ext pack',
    });
    assert.deepEqual(reported(error), {
      stderr: 'error[E_PUBLISH_STALE]: dist/manifest.json: the sources changed\nhint: run ext pack\n',
      exitCode: 1,
    });
  });

  it('a cancellation stays "Operation cancelled", exit 130; a bug stays "internal error:", exit 70', () => {
    assert.deepEqual(reported(new CancelledError()), { stderr: 'Operation cancelled\n', exitCode: 130 });
    const bug = reported(new TypeError('x is undefined'));
    assert.equal(bug.exitCode, 70);
    assert.match(bug.stderr, /^internal error: x is undefined\n/);
  });

  it('--json documents carry the code; a bug is E_INTERNAL', () => {
    assert.deepEqual(errorDocument(new CliError('m', { code: 'E_AWS_THROTTLED', hint: 'h' })), {
      error: { code: 'E_AWS_THROTTLED', message: 'm', hint: 'h', exitCode: 1 },
    });
    assert.deepEqual(errorDocument(new CancelledError()).error.code, 'E_CANCELLED');
    assert.deepEqual(errorDocument(new Error('boom')), {
      error: { code: 'E_INTERNAL', message: 'internal error: boom', exitCode: 70 },
    });
  });
});

describe("yargs' failures get one code each, exit 2", () => {
  const failure = (message: string, command = 'ext build'): unknown => {
    try {
      usageFailure(command)(message, undefined);
    } catch (error) {
      return error;
    }
    return undefined;
  };
  for (const [message, code] of [
    ['Invalid values:\n  Argument: arch, Given: "mips", Choices: "x86_64", "arm64"', 'E_USAGE_BAD_VALUE'],
    ['Not enough non-option arguments: got 0, need at least 1', 'E_USAGE_MISSING_ARGUMENT'],
    ['Arguments public and principal are mutually exclusive', 'E_USAGE_CONFLICTING_FLAGS'],
    ['Not enough arguments following: invokes', 'E_USAGE_MISSING_VALUE'],
    ['Unknown argument: frobnicate', 'E_USAGE_UNKNOWN_FLAG'],
    ['Unknown arguments: a, b', 'E_USAGE_UNKNOWN_FLAG'],
    ['Something yargs says one day', 'E_USAGE'],
  ] as const) {
    it(`${message.split('\n')[0]} → ${code}`, () => {
      withCode(code, 2)(failure(message));
    });
  }

  it('a mistyped command is E_USAGE_UNKNOWN_COMMAND', () => {
    assert.throws(
      () => commandUsageFailure(['biuld'], ['build', 'pack'])('Unknown argument: biuld', undefined),
      withCode('E_USAGE_UNKNOWN_COMMAND', 2),
    );
  });

  it('--arch with an unknown architecture is E_USAGE_BAD_VALUE', () => {
    assert.throws(() => architecturesFlag('amd64'), withCode('E_USAGE_BAD_VALUE', 2));
  });
});

import assert from 'node:assert/strict';
import type { ErrorCode } from '../../src/core/error-codes.js';
import { CliError } from '../../src/core/errors.js';

/**
 * For assert.rejects and assert.throws: the error is a CliError with `code`.
 * Tests match the stable code, not the wording; the failure shows the message.
 */
export function withCode(code: ErrorCode, exitCode?: number): (error: unknown) => true {
  return (error: unknown) => {
    assert.ok(error instanceof CliError, `expected a CliError with ${code}, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (exitCode !== undefined) assert.equal(error.exitCode, exitCode, error.message);
    return true;
  };
}

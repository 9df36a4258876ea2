import type { ErrorCode } from './error-codes.js';

/**
 * The one error type the CLI reports. Core functions throw it with a
 * lower-case message that names the flag or path at fault, and a hint that
 * says which command or flag fixes it. The bins turn it into an exit code in
 * one place (src/cli/run.ts).
 */
export class CliError extends Error {
  /** Stable across releases (src/core/error-codes.ts): what scripts and tests match on, never the message. */
  readonly code: ErrorCode;
  readonly exitCode: number;
  readonly hint: string | undefined;

  constructor(message: string, options: { code: ErrorCode; hint?: string; exitCode?: number; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.code = options.code;
    this.exitCode = options.exitCode ?? 1;
    this.hint = options.hint;
  }
}

/** Thrown when the user presses Ctrl-C or Esc at a prompt. Nothing has been written yet. */
export class CancelledError extends CliError {
  constructor() {
    super('operation cancelled', { code: 'E_CANCELLED', exitCode: 130 });
    this.name = 'CancelledError';
  }
}

/** A bad flag or argument: exit code 2, like every command-line parser. */
export function usageError(code: ErrorCode, message: string, hint?: string): CliError {
  return new CliError(message, { code, exitCode: 2, ...(hint === undefined ? {} : { hint }) });
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

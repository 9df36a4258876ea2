import { CancelledError, CliError, errorMessage, usageError } from '../core/errors.js';
import { escapeControlCharacters, printableLine } from '../core/text.js';
import { closestMatch } from './suggestions.js';

/**
 * The single place where a failure becomes an exit code and a message. Every
 * bin calls its main function through this.
 */
export async function runCli(main: () => Promise<void>, argv: readonly string[] = []): Promise<void> {
  endQuietlyWhenOutputCloses();
  const json = wantsJson(argv);
  const wroteOutput = json ? noticeStdoutWrites() : () => true;
  try {
    await main();
  } catch (error) {
    process.exitCode = reportError(error);
    // A script that asked for JSON parses stdout: it gets a document for the failure too, not an empty
    // string; unless the command already printed its own (inspect's report, dev's run), which says it all.
    if (json && !wroteOutput()) process.stdout.write(`${JSON.stringify(errorDocument(error))}\n`);
  }
}

/** Starts noting whether anything is written to stdout; the returned function says. */
function noticeStdoutWrites(): () => boolean {
  let wrote = false;
  const write = process.stdout.write.bind(process.stdout) as (...args: unknown[]) => boolean;
  process.stdout.write = (...args: unknown[]) => {
    wrote = true;
    return write(...args);
  };
  return () => wrote;
}

/** Whether the command line asks for --json, read from the raw words: a usage error comes before any parse. */
export function wantsJson(argv: readonly string[]): boolean {
  let json = false;
  for (const word of argv) {
    if (word === '--') break;
    if (word === '--json' || word === '--json=true') json = true;
    else if (word === '--no-json' || word === '--json=false') json = false;
  }
  return json;
}

/** The one shape of every --json failure, whatever the command: `{"error":{"code","message","hint"?,"exitCode"}}`. */
export function errorDocument(error: unknown): {
  error: { code: string; message: string; hint?: string; exitCode: number };
} {
  if (error instanceof CliError) {
    return {
      error: {
        code: error.code,
        message: error.message,
        ...(error.hint === undefined ? {} : { hint: error.hint }),
        exitCode: error.exitCode,
      },
    };
  }
  return { error: { code: 'E_INTERNAL', message: `internal error: ${errorMessage(error)}`, exitCode: 70 } };
}

let watchingOutput = false;

/**
 * A reader that stops reading (`ext dev | head -1`, `ext --help | head -1`)
 * closes our stdout; a closed stderr is the same. Either is a normal end, not
 * a crash: the command stops at once, prints nothing more, and exits with the
 * code it had already set (a failure it had already reported), else 0, the
 * way a reader that has what it wanted is no failure of ours. Exiting runs the
 * exit hooks, so `ext dev` still stops the layer's processes.
 */
export function endQuietlyWhenOutputCloses(): void {
  if (watchingOutput) return;
  watchingOutput = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
}

export function reportError(error: unknown): number {
  if (error instanceof CliError) {
    // rustc's shape, `error[E_CODE]: message`: the code is what a reader searches docs/reference/errors.md for.
    process.stderr.write(
      `${error.name === 'CancelledError' ? 'Operation cancelled' : `error[${error.code}]: ${printableLine(error.message, 2000)}`}\n`,
    );
    if (error.hint !== undefined) process.stderr.write(`hint: ${printableLine(error.hint, 2000)}\n`);
    return error.exitCode;
  }
  // A bug of ours, not a user's mistake: keep the stack, it is what a bug report needs.
  process.stderr.write(`internal error: ${printableLine(errorMessage(error), 2000)}\n`);
  if (error instanceof Error && error.stack !== undefined)
    process.stderr.write(`${escapeControlCharacters(error.stack)}\n`);
  return 70;
}

/**
 * yargs' own failures (unknown flag, bad choice, missing argument) get the
 * same shape as ours: a lower-case message naming the flag, a hint, exit 2.
 * `command` is the command line as far as it names a command ("ext inspect").
 */
export function usageFailure(command: string) {
  return (message: string | undefined, error: Error | undefined, usage?: unknown): never => {
    const text = message ?? errorMessage(error);
    const help = `run ${command} --help to see the flags`;
    const choice = /Argument: (\S+), Given: (.*), Choices: (.*)/.exec(text);
    if (choice !== null) {
      const [, flag, given, choices] = choice as unknown as [string, string, string, string];
      const valid = choices.split(', ').map((value) => value.replace(/^"(.*)"$/, '$1'));
      throw new CliError(`--${flag}: ${given} is not one of ${valid.join(', ')}`, {
        code: 'E_USAGE_BAD_VALUE',
        exitCode: 2,
        hint: `pass ${valid.map((value) => `--${flag} ${value}`).join(' or ')}`,
      });
    }
    if (/^not enough non-option arguments/i.test(text)) {
      const missing = command === 'ext inspect' ? 'the layer zip to check' : 'an argument';
      throw new CliError(`${command}: missing ${missing}`, {
        code: 'E_USAGE_MISSING_ARGUMENT',
        exitCode: 2,
        hint:
          command === 'ext inspect' ? 'for example: ext inspect dist/my-extension-arm64.zip' : `run ${command} --help`,
      });
    }
    const exclusive = /^Arguments (\S+) and (\S+) are mutually exclusive/.exec(text);
    if (exclusive !== null) {
      throw new CliError(`--${exclusive[1]} and --${exclusive[2]} cannot be used together`, {
        code: 'E_USAGE_CONFLICTING_FLAGS',
        exitCode: 2,
        hint: `keep one of them; ${help}`,
      });
    }
    const valueless = /^Not enough arguments following: (\S+)/.exec(text);
    if (valueless !== null) {
      throw usageError('E_USAGE_MISSING_VALUE', `--${valueless[1]}: missing its value`, help);
    }
    const unknown = /^Unknown arguments?: (.*)/.exec(text);
    if (unknown !== null) {
      throw new CliError(`unknown argument: ${unknown[1]}`, {
        code: 'E_USAGE_UNKNOWN_FLAG',
        exitCode: 2,
        hint: [...flagSuggestions(unknown[1]!.split(', '), usage), help].join(' '),
      });
    }
    // Any other complaint of yargs: a usage error all the same, with the generic code.
    throw usageError(
      'E_USAGE',
      text.replace(/^./, (first) => first.toLowerCase()),
      help,
    );
  };
}

/**
 * The part of what yargs passes its fail callback that we use (typed as the
 * parser, it is yargs' usage object): the current command's options.
 */
interface YargsUsage {
  getDescriptions?: () => Record<string, string | undefined>;
}

/** "did you mean --arch?" for each unknown flag close to one the command has. */
function flagSuggestions(unknown: readonly string[], usage: unknown): string[] {
  const describe = (usage as YargsUsage | undefined)?.getDescriptions;
  const known = typeof describe === 'function' ? Object.keys(describe() ?? {}) : [];
  const dashed = (key: string) => (key.length === 1 ? `-${key}` : `--${key}`);
  return unknown.flatMap((key) => {
    const match = closestMatch(key.replace(/^-+/u, ''), known);
    return match === undefined ? [] : [`did you mean ${dashed(match)}?`];
  });
}

/** Like usageFailure, but a mistyped command is called a command, not an "argument". */
export function commandUsageFailure(argv: readonly string[], commands: readonly string[]) {
  return (message: string | undefined, error: Error | undefined, usage?: unknown): never => {
    const first = argv[0];
    if (first !== undefined && !first.startsWith('-') && !commands.includes(first)) {
      const match = closestMatch(first, commands);
      throw new CliError(`unknown command "${first}"`, {
        code: 'E_USAGE_UNKNOWN_COMMAND',
        exitCode: 2,
        hint: `${match === undefined ? '' : `did you mean ext ${match}? `}the commands are ${commands.join(', ')}; run ext --help`,
      });
    }
    return usageFailure(first === undefined || first.startsWith('-') ? 'ext' : `ext ${first}`)(message, error, usage);
  };
}

/**
 * The one place where Ctrl-C (SIGINT) and SIGTERM become cancellation: the
 * command's core function gets the signal, stops its children, removes its
 * temp paths and throws CancelledError, which runCli reports with exit 130.
 * A second Ctrl-C quits at once, exit hooks still running.
 *
 * `windDown` is for a core that answers the signal by finishing in order and
 * returning (ext dev runs a Shutdown and reports): it says so when the signal
 * comes, and the return is a cancellation all the same. Without it, a core
 * that returns had finished its work (build and pack throw when cut short),
 * so a Ctrl-C that came too late to stop anything changes nothing.
 */
export async function withInterruption<T>(
  run: (signal: AbortSignal) => Promise<T>,
  windDown?: { onInterrupt: () => void },
): Promise<T> {
  const controller = new AbortController();
  const interrupt = (): void => {
    if (controller.signal.aborted) process.exit(130);
    windDown?.onInterrupt();
    controller.abort();
  };
  process.on('SIGINT', interrupt).on('SIGTERM', interrupt);
  try {
    const result = await run(controller.signal);
    if (windDown !== undefined && controller.signal.aborted) throw new CancelledError();
    return result;
  } finally {
    process.off('SIGINT', interrupt).off('SIGTERM', interrupt);
  }
}

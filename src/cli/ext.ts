import { readFileSync } from 'node:fs';
import { runCli } from './run.js';
import { helpWidth } from './terminal.js';
import { toolkitVersion } from './version.js';

/** Written beside the bundled bin by scripts/bundle-cli.ts. */
export const prerenderedHelpFile = 'ext-help.txt';

/**
 * `ext --help` off a terminal (unwrapped, so the same at any width), as
 * yargs rendered it at build time (scripts/bundle-cli.ts): loading yargs and
 * the command modules to print text is costly (see docs/benchmarks.md).
 * Missing when run from tsc's output, or when EXT_HELP_FROM_PARSER asks for
 * the real thing (the test that keeps the two identical).
 */
function prerenderedHelp(): string | undefined {
  if (process.env['EXT_HELP_FROM_PARSER'] !== undefined) return undefined;
  try {
    return readFileSync(new URL(`./${prerenderedHelpFile}`, import.meta.url), 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * `ext`: answers --version and (off a terminal) --help itself, and loads the
 * argument parser and the commands, in ext-commands.ts, for anything else.
 */
export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  await runCli(async () => {
    // Scripts call `ext --version` to check the toolchain: answer without loading the argument parser.
    if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
      process.stdout.write(`${toolkitVersion()}\n`);
      return;
    }
    if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h') && helpWidth() === null) {
      const prerendered = prerenderedHelp();
      if (prerendered !== undefined) {
        process.stdout.write(prerendered);
        return;
      }
    }
    const { parseExtCommandLine } = await import('./ext-commands.js');
    await parseExtCommandLine(argv);
  }, argv);
}

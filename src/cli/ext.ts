import { readFileSync } from 'node:fs';
import { addCommand } from './commands/add.js';
import { buildCommand } from './commands/build.js';
import { devCommand } from './commands/dev.js';
import { inspectCommand } from './commands/inspect.js';
import { packCommand } from './commands/pack.js';
import { publishCommand } from './commands/publish.js';
import { resolveProjectDirectory } from './options.js';
import { commandUsageFailure, runCli } from './run.js';
import { helpWidth } from './terminal.js';
import { toolkitVersion } from './version.js';

/** Written beside the bundled bin by scripts/bundle-cli.ts. */
export const prerenderedHelpFile = 'ext-help.txt';

/**
 * `ext --help` off a terminal (unwrapped, so the same at any width), as
 * yargs rendered it at build time (scripts/bundle-cli.ts): loading yargs and
 * five command modules costs more than Node's own start-up. Missing when run
 * from tsc's output, or when EXT_HELP_FROM_PARSER asks for the real thing
 * (the test that keeps the two identical).
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
 * `ext`: the command modules are cheap to import; each handler loads its core
 * module lazily so that `ext --help` stays fast.
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
    const { default: yargs } = await import('yargs');
    await yargs(argv)
      .scriptName('ext')
      .usage('$0 <command> [options]\n\nBuild, pack, inspect and run AWS Lambda extension layers.')
      .command(buildCommand)
      .command(packCommand)
      .command(inspectCommand)
      .command(devCommand)
      .command(publishCommand)
      .command(addCommand)
      .example('$0 build && $0 pack', 'Build every architecture, then zip and verify each layer')
      .example('$0 dev --invokes 3', 'Run the project in a local Lambda emulator: Init, 3 invokes, Shutdown')
      .example('$0 inspect dist/*.zip', 'Check layer zips, including ones other tools made')
      .example('$0 publish --region us-east-1 --dry-run', 'Show what would be published')
      .example('$0 add iac sam', 'Add a SAM template for the layer to infra/')
      .middleware(resolveProjectDirectory)
      .strict()
      .demandCommand(1, 'name a command: build, pack, inspect, dev, publish or add')
      .recommendCommands()
      .version(toolkitVersion())
      .alias('v', 'version')
      .alias('h', 'help')
      .wrap(helpWidth())
      .fail(commandUsageFailure(argv, ['build', 'pack', 'inspect', 'dev', 'publish', 'add']))
      .parseAsync();
  });
}

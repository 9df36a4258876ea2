import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { buildCommand } from './commands/build.js';
import { devCommand } from './commands/dev.js';
import { inspectCommand } from './commands/inspect.js';
import { packCommand } from './commands/pack.js';
import { runCli, usageFailure } from './run.js';
import { toolkitVersion } from './version.js';

/**
 * `ext`: the command modules are cheap to import; each handler loads its core
 * module lazily so that `ext --help` stays fast.
 */
export async function main(argv: string[] = hideBin(process.argv)): Promise<void> {
  await runCli(async () => {
    await yargs(argv)
      .scriptName('ext')
      .usage('$0 <command> [options]\n\nBuild, pack, inspect and run AWS Lambda extension layers.')
      .command(buildCommand)
      .command(packCommand)
      .command(inspectCommand)
      .command(devCommand)
      .strict()
      .demandCommand(1, 'name a command: build, pack, inspect or dev')
      .recommendCommands()
      .version(toolkitVersion())
      .alias('h', 'help')
      .wrap(Math.min(100, process.stdout.columns || 100))
      .fail(usageFailure)
      .parseAsync();
  });
}

import yargs from 'yargs';
import { addCommand } from './commands/add.js';
import { buildCommand } from './commands/build.js';
import { costCommand } from './commands/cost.js';
import { devCommand } from './commands/dev.js';
import { inspectCommand } from './commands/inspect.js';
import { packCommand } from './commands/pack.js';
import { publishCommand } from './commands/publish.js';
import { renameCommand } from './commands/rename.js';
import { resolveProjectDirectory } from './options.js';
import { commandUsageFailure } from './run.js';
import { helpWidth } from './terminal.js';
import { toolkitVersion } from './version.js';

/**
 * The `ext` program: yargs, every command module, and the cores of the
 * commands run most (build's), in one module that ext.ts loads only when it
 * has more to do than print its version or help. Every ES module Node loads
 * costs start-up time, so what always loads together is bundled together;
 * the rarer commands' cores (dev's emulator, publish, inspect) stay lazy
 * (see docs/benchmarks.md).
 */
export async function parseExtCommandLine(argv: string[]): Promise<void> {
  await yargs(argv)
    .scriptName('ext')
    .usage('$0 <command> [options]\n\nBuild, pack, inspect and run AWS Lambda extension layers.')
    .command(buildCommand)
    .command(packCommand)
    .command(inspectCommand)
    .command(devCommand)
    .command(costCommand)
    .command(publishCommand)
    .command(addCommand)
    .command(renameCommand)
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
    .fail(commandUsageFailure(argv, ['build', 'pack', 'inspect', 'dev', 'cost', 'publish', 'add', 'rename']))
    .parseAsync();
}

import { resolveProjectDirectory } from './options.js';
import { commandUsageFailure, runCli } from './run.js';
import { helpWidth } from './terminal.js';
import { toolkitVersion } from './version.js';

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
    const [{ default: yargs }, { buildCommand }, { packCommand }, { inspectCommand }, { devCommand }] =
      await Promise.all([
        import('yargs'),
        import('./commands/build.js'),
        import('./commands/pack.js'),
        import('./commands/inspect.js'),
        import('./commands/dev.js'),
      ]);
    const { publishCommand } = await import('./commands/publish.js');
    await yargs(argv)
      .scriptName('ext')
      .usage('$0 <command> [options]\n\nBuild, pack, inspect and run AWS Lambda extension layers.')
      .command(buildCommand)
      .command(packCommand)
      .command(inspectCommand)
      .command(devCommand)
      .command(publishCommand)
      .example('$0 build && $0 pack', 'Build every architecture, then zip and verify each layer')
      .example('$0 dev --invokes 3', 'Run the project in a local Lambda emulator: Init, 3 invokes, Shutdown')
      .example('$0 inspect dist/*.zip', 'Check layer zips, including ones other tools made')
      .example('$0 publish --region us-east-1 --dry-run', 'Show what would be published')
      .middleware(resolveProjectDirectory)
      .strict()
      .demandCommand(1, 'name a command: build, pack, inspect, dev or publish')
      .recommendCommands()
      .version(toolkitVersion())
      .alias('v', 'version')
      .alias('h', 'help')
      .wrap(helpWidth())
      .fail(commandUsageFailure(argv, ['build', 'pack', 'inspect', 'dev', 'publish']))
      .parseAsync();
  });
}

import type { CommandModule } from 'yargs';
import { projectOptions } from '../options.js';
import { bold, dim } from '../terminal.js';

interface RenameArguments {
  cwd: string;
  name: string;
  'dry-run'?: boolean | undefined;
  json?: boolean | undefined;
}

export const renameCommand: CommandModule<object, RenameArguments> = {
  command: 'rename <name>',
  describe: 'Rename the extension: lambda-extension.json, every file that names it or its settings prefix, old zips',
  builder: (yargs) =>
    yargs
      .positional('name', { type: 'string', demandOption: true, describe: 'The new extension name' })
      .options({
        ...projectOptions,
        'dry-run': { type: 'boolean', describe: 'List the files it would change; write nothing' },
      })
      .example('$0 rename billing-telemetry --dry-run', 'List what would change')
      .example('$0 rename billing-telemetry && $0 pack', 'Rename, then pack the layers under the new name'),
  handler: async (args) => {
    const { renameExtension } = await import('../../core/rename/index.js');
    const result = await renameExtension({
      projectDirectory: args.cwd,
      newName: args.name,
      dryRun: args['dry-run'] === true,
    });
    if (args.json === true) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return;
    }
    const verb = result.dryRun ? 'would change' : 'changed';
    const lines = [
      `${result.dryRun ? 'Would rename' : 'Renamed'} ${bold(result.oldName)} to ${bold(result.newName)} (settings ${result.settingsPrefix.old}* → ${result.settingsPrefix.new}*)`,
      ...result.changed.map((file) => `  ${verb} ${file}`),
      ...result.removed.map((file) => `  ${result.dryRun ? 'would remove' : 'removed'} ${file}`),
    ];
    if (!result.dryRun) lines.push(dim('review the changes (git diff), then run ext pack'));
    process.stdout.write(`${lines.join('\n')}\n`);
  },
};

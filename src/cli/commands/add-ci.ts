import type { Argv, CommandModule } from 'yargs';
import { printableLine } from '../../core/text.js';
import { projectOptions } from '../options.js';
import { withInterruption } from '../run.js';
import { bold, cyan, dim, green, yellow } from '../terminal.js';

interface AddCiArguments {
  provider: string;
  force?: boolean | undefined;
  cwd: string;
  json?: boolean | undefined;
}

export const addCiCommand: CommandModule<object, AddCiArguments> = {
  command: 'ci <provider>',
  describe: 'Add the CI workflows create --ci would have written: github (.github/workflows/)',
  builder: (yargs: Argv) =>
    yargs
      .positional('provider', { type: 'string', demandOption: true, describe: 'Where CI runs: github' })
      .options({
        force: {
          type: 'boolean',
          describe: 'Replace workflow files that are already there, e.g. to take newer pinned actions',
        },
        ...projectOptions,
      })
      .example('$0 add ci github', 'Write the test and release workflows and .github/publish.json')
      .example('$0 add ci github --force --json', 'Regenerate them with this version’s pinned actions; print JSON'),
  handler: async (argv) => {
    const { parseCiProvider, addCi } = await import('../../core/infrastructure/index.js');
    const provider = parseCiProvider(argv.provider, '<provider>', ['github']);
    const result = await withInterruption((signal) =>
      addCi({ projectDirectory: argv.cwd, provider, force: argv.force === true, signal }),
    );
    if (argv.json === true) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return;
    }
    const lines = [`${green('✔')} Added ${bold(`${provider} workflows`)} to ${printableLine(result.directory)}`];
    for (const file of result.files)
      lines.push(`  ${file}${result.overwritten.includes(file) ? yellow(' (replaced)') : ''}`);
    for (const file of result.kept) lines.push(`  ${file}${dim(' (already there: kept as it is)')}`);
    const step = (what: string, why: string) => `  ${cyan(what.padEnd(40))} ${dim(`# ${why}`)}`;
    lines.push(
      '',
      'Before the first release:',
      step('set the repository variable AWS_ROLE_ARN', 'a role the release workflow assumes over OIDC'),
      step('edit .github/publish.json', 'the regions to publish to'),
      step(`git tag v${result.version} && git push --tags`, 'a v* tag publishes the layer'),
    );
    process.stdout.write(`${lines.join('\n')}\n`);
  },
};

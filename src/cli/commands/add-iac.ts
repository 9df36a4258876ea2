import type { Argv, CommandModule } from 'yargs';
import { printableLine } from '../../core/text.js';
import { projectOptions } from '../options.js';
import { withInterruption } from '../run.js';
import { bold, cyan, dim, green, yellow } from '../terminal.js';

interface AddIacArguments {
  kind: string;
  force?: boolean | undefined;
  cwd: string;
  json?: boolean | undefined;
}

export const addIacCommand: CommandModule<object, AddIacArguments> = {
  command: 'iac <kind>',
  describe: 'Add infrastructure as code for the layer to infra/: sam, cdk or terraform',
  builder: (yargs: Argv) =>
    yargs
      .positional('kind', { type: 'string', demandOption: true, describe: 'What to generate: sam, cdk or terraform' })
      .options({
        force: { type: 'boolean', describe: 'Replace generated files that are already there (others are kept)' },
        ...projectOptions,
      })
      .example('$0 add iac sam', 'Write infra/template.yaml: an AWS::Serverless::LayerVersion per architecture')
      .example('$0 add iac terraform --cwd my-extension', 'Write infra/main.tf into another project folder')
      .example('$0 add iac cdk --force --json', 'Regenerate the CDK app in infra/; print JSON'),
  handler: async (argv) => {
    const { parseIacKind, addIac } = await import('../../core/infrastructure/index.js');
    const kind = parseIacKind(argv.kind, '<kind>', ['sam', 'cdk', 'terraform']);
    const result = await withInterruption((signal) =>
      addIac({ projectDirectory: argv.cwd, kind, force: argv.force === true, signal }),
    );
    if (argv.json === true) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return;
    }
    const lines = [`${green('✔')} Added ${bold(kind)} to ${printableLine(result.directory)}`];
    for (const file of result.files)
      lines.push(`  ${file}${result.overwritten.includes(file) ? yellow(' (replaced)') : ''}`);
    lines.push('', `Deploy (see infra/README.md):`, `  ${cyan(result.deployCommand)}`);
    if (kind === 'cdk') lines.push(dim('  once per account and region first: npx --prefix infra cdk bootstrap'));
    process.stdout.write(`${lines.join('\n')}\n`);
  },
};

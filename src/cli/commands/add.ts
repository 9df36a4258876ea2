import type { Argv, CommandModule } from 'yargs';
import { projectOptions } from '../options.js';
import { addCiCommand } from './add-ci.js';
import { addIacCommand } from './add-iac.js';

/** `ext add <what>`: generated files added to an existing project; each kind is a nested command. */
export const addCommand: CommandModule = {
  command: 'add <what>',
  describe: 'Add generated files to an existing project: ci (GitHub workflows) or iac (SAM, CDK or Terraform)',
  builder: (yargs: Argv) =>
    yargs
      .options(projectOptions)
      .command(addCiCommand)
      .command(addIacCommand)
      .demandCommand(1, 'name what to add: ext add ci github, or ext add iac <sam|cdk|terraform>')
      .example('$0 add ci github', 'Add the test and release workflows to .github/')
      .example('$0 add iac sam', 'Add infra/template.yaml, an AWS SAM template for the layer'),
  handler: () => {
    // Only reached through a nested command; demandCommand refuses anything else.
  },
};

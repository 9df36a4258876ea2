import type { CommandModule } from 'yargs';

// Placeholder: replaced by the real 'inspect' command module.
export const inspectCommand: CommandModule = {
  command: 'inspect',
  describe: false,
  handler: () => {
    throw new Error('not implemented');
  },
};

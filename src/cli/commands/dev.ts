import type { CommandModule } from 'yargs';

// Placeholder: replaced by the real 'dev' command module.
export const devCommand: CommandModule = {
  command: 'dev',
  describe: false,
  handler: () => {
    throw new Error('not implemented');
  },
};

import type { CommandModule } from 'yargs';

// Placeholder: replaced by the real 'pack' command module.
export const packCommand: CommandModule = {
  command: 'pack',
  describe: false,
  handler: () => {
    throw new Error('not implemented');
  },
};

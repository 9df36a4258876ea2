import type { CommandModule } from 'yargs';

// Placeholder: replaced by the real 'build' command module.
export const buildCommand: CommandModule = {
  command: 'build',
  describe: false,
  handler: () => {
    throw new Error('not implemented');
  },
};

import type { Options } from 'yargs';
import { parseArchitectures, type Architecture } from '../core/architectures.js';
import type { ConfigOverrides } from '../core/config.js';
import { CliError, errorMessage } from '../core/errors.js';

/** Flags shared by the project commands (build, pack, dev). */
export const projectOptions = {
  cwd: {
    type: 'string',
    describe: 'Project directory (holds lambda-extension.json)',
    default: '.',
    defaultDescription: 'current directory',
  },
  json: { type: 'boolean', describe: 'Print one JSON document on stdout' },
} as const satisfies Record<string, Options>;

export const architectureOption = {
  type: 'string',
  describe: 'Architectures: x86_64, arm64 or all (comma-separated list allowed)',
  defaultDescription: 'the architectures in lambda-extension.json',
} as const satisfies Options;

export const outOption = {
  type: 'string',
  describe: 'Output directory, relative to the project',
  default: 'dist',
} as const satisfies Options;

/** Flags that replace a lambda-extension.json field for one run. */
export const configOverrideOptions = {
  name: { type: 'string', describe: 'Override "name": the file name in /opt/extensions' },
  entry: { type: 'string', describe: 'Override "entry": the Go main package or the TypeScript entry file' },
  'extension-version': { type: 'string', describe: 'Override "version", stamped into the build' },
  sourcemap: {
    type: 'boolean',
    describe: 'Override "sourcemap" (TypeScript): write index.mjs.map and enable source maps',
  },
} as const satisfies Record<string, Options>;

export interface ConfigOverrideArguments {
  name?: string | undefined;
  entry?: string | undefined;
  'extension-version'?: string | undefined;
  sourcemap?: boolean | undefined;
}

export function configOverrides(args: ConfigOverrideArguments): ConfigOverrides {
  return { name: args.name, entry: args.entry, version: args['extension-version'], sourcemap: args.sourcemap };
}

/** `--arch` as given, or undefined to use the config's list. */
export function architecturesFlag(value: string | undefined): Architecture[] | undefined {
  if (value === undefined) return undefined;
  try {
    return parseArchitectures(value);
  } catch (error) {
    throw new CliError(`--arch: ${errorMessage(error)}`, {
      exitCode: 2,
      hint: 'pass --arch x86_64, --arch arm64 or --arch all',
    });
  }
}

import type { Options } from 'yargs';
// layer/architectures, not the index: every command's flags load this, and the index brings the zip reader.
import { parseArchitectures, type Architecture } from '../core/layer/architectures.js';
import { configFileName, findProjectDirectory, type ConfigOverrides } from '../core/config.js';
import { CliError, errorMessage } from '../core/errors.js';
import { printableLine } from '../core/text.js';
import { typeCheckDisabledByEnvironment, typeCheckVariable } from '../core/build/index.js';
import path from 'node:path';

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

/** build, pack and dev: the project's tsc runs beside esbuild unless this is false. */
export const typecheckOption = {
  typecheck: {
    type: 'boolean',
    describe: `TypeScript: check types with the project's tsc (incremental, beside esbuild); --no-typecheck skips it (so does ${typeCheckVariable}=off)`,
    defaultDescription: 'true when the project has a tsconfig.json',
  },
} as const satisfies Record<string, Options>;

/** --typecheck as given, else on unless the environment turns it off. */
export function typecheckFlag(value: boolean | undefined): boolean {
  return value ?? !typeCheckDisabledByEnvironment();
}

/** Flags that replace a lambda-extension.json field for one run. */
export const configOverrideOptions = {
  name: { type: 'string', describe: 'Override "name": the file name in /opt/extensions' },
  entry: { type: 'string', describe: 'Override "entry": the Go main package or the TypeScript entry file' },
  'extension-version': { type: 'string', describe: 'Override "version", stamped into the build' },
  sourcemap: {
    type: 'boolean',
    describe: 'Override "sourcemap" (TypeScript): write index.mjs.map and enable source maps',
  },
  standalone: {
    type: 'boolean',
    describe:
      'Override "standalone" (TypeScript): bundle a Linux node binary so the layer runs beside any Amazon Linux 2023 runtime (--no-standalone: use the runtime\'s node)',
  },
  'node-version': {
    type: 'string',
    describe: 'Override "nodeVersion" (TypeScript standalone): the Node.js major (24) or exact version to bundle',
  },
} as const satisfies Record<string, Options>;

export interface ConfigOverrideArguments {
  name?: string | undefined;
  entry?: string | undefined;
  'extension-version'?: string | undefined;
  sourcemap?: boolean | undefined;
  standalone?: boolean | undefined;
  'node-version'?: string | undefined;
}

export function configOverrides(args: ConfigOverrideArguments): ConfigOverrides {
  return {
    name: args.name,
    entry: args.entry,
    version: args['extension-version'],
    sourcemap: args.sourcemap,
    standalone: args.standalone,
    nodeVersion: args['node-version'],
  };
}

/** `--arch` as given, or undefined to use the config's list. */
export function architecturesFlag(value: string | undefined): Architecture[] | undefined {
  if (value === undefined) return undefined;
  try {
    return parseArchitectures(value);
  } catch (error) {
    throw new CliError(`--arch: ${errorMessage(error)}`, {
      code: 'E_USAGE_BAD_VALUE',
      exitCode: 2,
      hint: 'pass --arch x86_64, --arch arm64 or --arch all',
    });
  }
}

/**
 * The one place where --cwd becomes the project directory: the nearest
 * lambda-extension.json at or above it (see findProjectDirectory). When that
 * is not --cwd itself, one line on stderr says which was used (none with
 * --json). Runs as yargs middleware, so every project command gets it.
 * `ext dev --layer` runs a given layer, and its path is relative to --cwd: no walk.
 */
export function resolveProjectDirectory(argv: Record<string, unknown>): void {
  if (typeof argv['cwd'] !== 'string' || argv['layer'] !== undefined || argv['help'] === true) return;
  const found = findProjectDirectory(argv['cwd']);
  if (found === undefined || found === path.resolve(argv['cwd'])) return;
  argv['cwd'] = found;
  if (argv['json'] !== true) {
    const shown = path.relative(process.cwd(), path.join(found, configFileName));
    process.stderr.write(`using ${printableLine(shown)}\n`);
  }
}

import { existsSync } from 'node:fs';
import path from 'node:path';
import type { DevFunctionConfig } from '../config.js';
import { CliError } from '../errors.js';
import type { InvokeEvent } from '../emulator/types.js';
import type { PreparedFunction } from '../function/index.js';
import type { DevOptions } from './options.js';

/**
 * Which function `ext dev` runs beside the layer: the flags, each falling
 * back on "dev.function" in lambda-extension.json (paths there are relative
 * to the project), else none: the simulated handler.
 */

/** `ext dev --function …`, as given; every field falls back on dev.function. */
export interface DevFunctionOptions {
  /** `--function`: the function's folder or deployment zip. */
  path?: string | undefined;
  /** `--runtime`. */
  runtime?: string | undefined;
  /** `--handler`. */
  handler?: string | undefined;
  /** `--event FILE` or `-` for stdin. */
  event?: string | undefined;
  /** `--python`. */
  pythonPath?: string | undefined;
  /** `--pass-aws-credentials`. */
  passAwsCredentials?: boolean | undefined;
  /** Read for `--event -`. */
  stdin?: AsyncIterable<Buffer | string> | undefined;
  /** The shell's environment (credentials, PATH for python3); default process.env. */
  hostEnvironment?: NodeJS.ProcessEnv | undefined;
}

export interface DevFunctionRequest {
  path: string;
  runtime: string;
  /** How messages name where the runtime came from. */
  runtimeLabel: string;
  handler?: string | undefined;
  /** Relative paths (path, event) are relative to this. */
  baseDirectory: string;
  /** The event source, relative to `eventBaseDirectory`. */
  event?: string | undefined;
  eventBaseDirectory: string;
  options: DevFunctionOptions;
}

/** Flags that only mean something with a function, for the error when there is none. */
function functionOnlyFlags(given: DevFunctionOptions): string[] {
  return [
    given.runtime === undefined ? '' : '--runtime',
    given.handler === undefined ? '' : '--handler',
    given.event === undefined ? '' : '--event',
    given.pythonPath === undefined ? '' : '--python',
    given.passAwsCredentials === true ? '--pass-aws-credentials' : '',
  ].filter((flag) => flag !== '');
}

/** The function to run, from the flags and dev.function; undefined: the simulated handler. */
export async function resolveDevFunction(options: DevOptions): Promise<DevFunctionRequest | undefined> {
  const { configFileName } = await import('../config.js');
  const given = options.functionCode;
  if (given === false) return undefined;
  const flags = given ?? {};
  const projectDirectory = path.resolve(options.projectDirectory);
  const configured = given?.path === undefined ? await configuredFunction(projectDirectory) : undefined;
  const functionPath = flags.path ?? configured?.path;
  if (functionPath === undefined) {
    const stray = functionOnlyFlags(flags);
    if (stray.length > 0) {
      throw new CliError(`${stray.join(', ')}: ${stray.length === 1 ? 'applies' : 'apply'} to a real function only`, {
        code: 'E_USAGE',
        exitCode: 2,
        hint: `add --function PATH (or "dev": {"function": {"path": …}} in ${configFileName}), or drop ${stray.join(' ')}`,
      });
    }
    return undefined;
  }
  const configLabel = (field: string) => `"dev.function.${field}" in ${path.join(projectDirectory, configFileName)}`;
  // `configured` is read only without --function: a --function takes nothing from dev.function, which
  // describes another function.
  const runtime = flags.runtime ?? configured?.runtime;
  if (runtime === undefined) {
    throw new CliError(`--function ${functionPath}: which runtime runs it?`, {
      code: 'E_FUNCTION_RUNTIME_MISSING',
      exitCode: 2,
      hint: 'pass --runtime provided.al2023, python3.13 or nodejs22.x (the others: ext dev --help), or set "runtime" in dev.function',
    });
  }
  if (flags.pythonPath !== undefined && !runtime.startsWith('python')) {
    throw new CliError(`--python: applies to python3.x functions; this one runs on ${runtime}`, {
      code: 'E_USAGE',
      exitCode: 2,
      hint: 'drop --python, or pass --runtime python3.13 (or another python3.x)',
    });
  }
  return {
    path: functionPath,
    runtime,
    runtimeLabel: flags.runtime === undefined ? configLabel('runtime') : '--runtime',
    handler: flags.handler ?? configured?.handler,
    // Flags are relative to --cwd like --layer, dev.function's paths to the project: the same folder.
    baseDirectory: projectDirectory,
    event: flags.event ?? configured?.event,
    eventBaseDirectory: projectDirectory,
    options: flags,
  };
}

/** dev.function of the project's lambda-extension.json, when there is one (a --layer run may have none). */
async function configuredFunction(projectDirectory: string): Promise<DevFunctionConfig | undefined> {
  // Imported lazily, as everywhere in dev/: nothing loads before a run needs it.
  const { configFileName, readConfig } = await import('../config.js');
  if (!existsSync(path.join(projectDirectory, configFileName))) return undefined;
  return (await readConfig(projectDirectory)).dev?.function;
}

/** The events of --event (or dev.function.event), read once: stdin can be read only once, also under --watch. */
export async function devEvents(request: DevFunctionRequest | undefined): Promise<InvokeEvent[] | undefined> {
  if (request?.event === undefined) return undefined;
  const { loadEvents } = await import('../function/index.js');
  return loadEvents(request.event, { baseDirectory: request.eventBaseDirectory, stdin: request.options.stdin });
}

/** Prepares the function beside a layer (after the layer: the bootstrap and the wrapper may be in it). */
export async function prepareDevFunction(
  request: DevFunctionRequest,
  options: DevOptions,
  layerDirectory: string,
): Promise<PreparedFunction> {
  const { prepareFunction, parseRuntime } = await import('../function/index.js');
  // Checked with the label of where it came from, so that a bad dev.function.runtime names the file.
  parseRuntime(request.runtime, request.runtimeLabel);
  const prepared = await prepareFunction({
    path: request.path,
    runtime: request.runtime,
    handler: request.handler,
    baseDirectory: request.baseDirectory,
    layerDirectory,
    functionName: options.functionName,
    memorySizeMB: options.memorySizeMB,
    region: options.region,
    env: options.env,
    passAwsCredentials: request.options.passAwsCredentials,
    hostEnvironment: request.options.hostEnvironment,
    pythonPath: request.options.pythonPath,
    nodePath: options.nodePath,
    cacheDirectory: options.nodeCacheDirectory,
    maxConcurrency: options.managedInstances?.maxConcurrency,
    signal: options.signal,
    onProgress: (message) => options.onStatus?.(message, 'progress'),
  });
  for (const warning of prepared.warnings) options.onStatus?.(`warning: ${warning}`, 'warning');
  return prepared;
}

/** Whether --node is for the function (a nodejs runtime) rather than for the extension alone. */
export function functionUsesNode(request: DevFunctionRequest | undefined): boolean {
  return request !== undefined && /^nodejs/.test(request.runtime);
}

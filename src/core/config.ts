import { existsSync } from 'node:fs';
import path from 'node:path';
import { architectures, isArchitecture, type Architecture } from './layer/architectures.js';
import { CliError, errorMessage, usageError } from './errors.js';
import { readBoundedText } from './fs-utils.js';
import { extensionNameProblem, versionProblem } from './names.js';

export const configFileName = 'lambda-extension.json';
export const languages = ['go', 'ts'] as const;
export type Language = (typeof languages)[number];
export const eventTypes = ['INVOKE', 'SHUTDOWN'] as const;
export type EventType = (typeof eventTypes)[number];

/** The contents of lambda-extension.json (see schema/lambda-extension.schema.json). */
export interface ExtensionConfig {
  name: string;
  language: Language;
  entry: string;
  architectures: Architecture[];
  version: string;
  events?: EventType[];
  sourcemap?: boolean;
  /** TypeScript only: flags for node, written into the launcher. */
  nodeOptions?: string[];
  /** TypeScript only: ship a Linux node binary in the layer, so that it runs beside any Amazon Linux 2023 runtime. */
  standalone?: boolean;
  /** TypeScript standalone only: the Node.js major ("24") or exact version ("24.22.3") to bundle. */
  nodeVersion?: string;
  /** Telemetry template only: settings the generated extension compiles in as its defaults. */
  telemetry?: TelemetryConfig;
  /** `ext cost --check` budgets. */
  cost?: CostConfig;
  /** `ext dev`'s defaults. */
  dev?: DevConfig;
  /**
   * A script of the project (relative path) that ext build copies to the layer's root as `<name>-wrapper`,
   * for functions to run through AWS_LAMBDA_EXEC_WRAPPER=/opt/<name>-wrapper (the proxy template's).
   */
  wrapper?: string;
  /**
   * The template the project was made from, where later commands need it: `ext add iac` gives the cache
   * template's function the policy it reads parameters and secrets with. Written by create.
   */
  template?: string;
}

/** "cost" in lambda-extension.json: upper bounds `ext cost --check` holds the layer to; absent ones are not checked. */
export interface CostConfig {
  /** Init added by the layer, p50 over the cold starts, in ms. */
  initAddedMs?: number;
  /** Post-runtime time per invoke (PostRuntimeExtensionsDuration), p99, in ms. */
  postRuntimeP99Ms?: number;
  /** The extensions' peak resident memory, in MiB. */
  peakRssMiB?: number;
}

export const costBudgetFields = ['initAddedMs', 'postRuntimeP99Ms', 'peakRssMiB'] as const;

/** "dev" in lambda-extension.json. */
export interface DevConfig {
  /** The function `ext dev` runs beside the layer when no --function is given (paths relative to the project). */
  function?: DevFunctionConfig;
}

/** "dev.function": the defaults of ext dev --function, --handler, --runtime and --event, and the function's variables. */
export interface DevFunctionConfig {
  path?: string;
  handler?: string;
  runtime?: string;
  event?: string;
  /** Function environment variables, as the function's configuration would set them (--env wins). */
  env?: Record<string, string>;
}

export const devFunctionFields = ['path', 'handler', 'runtime', 'event', 'env'] as const;

const environmentVariableName = /^[A-Za-z_][A-Za-z0-9_]*$/u;

/** "telemetry" in lambda-extension.json. */
export interface TelemetryConfig {
  /** When the extension ships: "end", "periodic:<ms>", "continuous" or "adaptive" (see flushStrategyProblem). */
  flush?: string;
}

/** The flush strategies of the telemetry templates; "periodic" takes an interval, "periodic:<ms>". */
export const flushModes = ['end', 'periodic', 'continuous', 'adaptive'] as const;
export type FlushMode = (typeof flushModes)[number];
/** What the telemetry templates ship with when create --flush is not given. */
export const defaultFlushStrategy = 'adaptive';
/** periodic:<ms> takes an interval in this range (the templates' FLUSH_INTERVAL_MS range too). */
export const flushIntervalRangeMs = { min: 50, max: 600_000 } as const;

/** Why a flush strategy is refused, or undefined for "end", "periodic:<ms>", "continuous" or "adaptive". */
export function flushStrategyProblem(value: unknown): string | undefined {
  const expected = `must be end, periodic:<ms> (${flushIntervalRangeMs.min}–${flushIntervalRangeMs.max}), continuous or adaptive`;
  if (typeof value !== 'string') return `${expected}, not ${shown(value)}`;
  if (value === 'end' || value === 'continuous' || value === 'adaptive') return undefined;
  const periodic = /^periodic:([0-9]{1,7})$/.exec(value);
  if (periodic !== null) {
    const interval = Number(periodic[1]);
    if (interval >= flushIntervalRangeMs.min && interval <= flushIntervalRangeMs.max) return undefined;
  }
  if (value === 'periodic') return `${expected}: periodic needs its interval, such as periodic:1000`;
  return `${expected}, not ${shown(value)}`;
}

/** The major line used when lambda-extension.json says "standalone": true without "nodeVersion". */
export const defaultStandaloneNodeVersion = '24';

/** A "nodeVersion": a major ("24") or an exact version ("24.22.3"). */
export const nodeVersionPattern = /^(0|[1-9][0-9]{0,2})(\.(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3}))?$/;

const nodeFlagPattern = /^--[A-Za-z0-9][A-Za-z0-9-]*(=[A-Za-z0-9._:/,=-]+)?$/;

const knownFields = new Set([
  '$schema',
  'name',
  'language',
  'entry',
  'architectures',
  'version',
  'events',
  'sourcemap',
  'nodeOptions',
  'standalone',
  'nodeVersion',
  'telemetry',
  'cost',
  'dev',
  'wrapper',
  'template',
]);

/** A value quoted in a message, cut so that a megabyte-long key or value cannot flood the one-line error. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 60)}… (${text.length} characters)` : text;
}

/**
 * Checks a parsed lambda-extension.json against the schema by hand, so that
 * each problem names its field. Returns every problem, not just the first.
 */
export function configProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return ['the file must hold a JSON object'];
  }
  const config = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(config)) {
    if (!knownFields.has(key)) problems.push(`${shown(key)} is not a known field`);
  }
  const stringField = (key: string): string | undefined => {
    const field = config[key];
    if (field === undefined) {
      problems.push(`"${key}" is missing`);
    } else if (typeof field !== 'string' || field === '') {
      problems.push(`"${key}" must be a non-empty string`);
    } else {
      return field;
    }
    return undefined;
  };
  const name = stringField('name');
  if (name !== undefined) {
    const problem = extensionNameProblem(name);
    if (problem !== undefined) problems.push(`"name": ${problem}`);
  }
  const language = stringField('language');
  if (language !== undefined && !(languages as readonly string[]).includes(language)) {
    problems.push(`"language" must be "go" or "ts", not ${shown(language)}`);
  }
  stringField('entry');
  const version = stringField('version');
  if (version !== undefined) {
    const problem = versionProblem(version);
    if (problem !== undefined) problems.push(`"version": ${problem}`);
  }
  const listField = (key: string, allowed: readonly string[], required: boolean): void => {
    const field = config[key];
    if (field === undefined) {
      if (required) problems.push(`"${key}" is missing`);
      return;
    }
    if (!Array.isArray(field) || (required && field.length === 0)) {
      problems.push(
        `"${key}" must be a${required ? ' non-empty' : 'n'} array of ${allowed.map((item) => `"${item}"`).join(', ')}`,
      );
      return;
    }
    field.forEach((item, index) => {
      if (typeof item !== 'string' || !allowed.includes(item)) {
        problems.push(
          `"${key}[${index}]" must be one of ${allowed.map((entry) => `"${entry}"`).join(', ')}, not ${shown(item)}`,
        );
      }
    });
    if (new Set(field).size !== field.length) problems.push(`"${key}" lists a value twice`);
  };
  listField('architectures', architectures, true);
  listField('events', eventTypes, false);
  const nodeOptions = config['nodeOptions'];
  if (nodeOptions !== undefined) {
    if (!Array.isArray(nodeOptions))
      problems.push('"nodeOptions" must be an array of node flags such as "--max-semi-space-size=1"');
    else {
      nodeOptions.forEach((flag, index) => {
        // The flags are written into a shell script: nothing that the shell would interpret.
        if (typeof flag !== 'string' || !nodeFlagPattern.test(flag)) {
          problems.push(
            `"nodeOptions[${index}]" must be a node flag such as "--max-semi-space-size=1", not ${shown(flag)}`,
          );
        }
      });
    }
  }
  if (config['sourcemap'] !== undefined && typeof config['sourcemap'] !== 'boolean') {
    problems.push('"sourcemap" must be true or false');
  }
  if (config['standalone'] !== undefined && typeof config['standalone'] !== 'boolean') {
    problems.push('"standalone" must be true or false');
  }
  const nodeVersion = config['nodeVersion'];
  if (nodeVersion !== undefined) {
    const problem = nodeVersionProblem(nodeVersion);
    if (problem !== undefined) problems.push(`"nodeVersion" ${problem}`);
  }
  const telemetry = config['telemetry'];
  if (telemetry !== undefined) {
    if (typeof telemetry !== 'object' || telemetry === null || Array.isArray(telemetry)) {
      problems.push('"telemetry" must be an object such as {"flush": "adaptive"}');
    } else {
      for (const key of Object.keys(telemetry)) {
        if (key !== 'flush') problems.push(`"telemetry" has no field ${shown(key)}; it knows "flush"`);
      }
      const flush = (telemetry as Record<string, unknown>)['flush'];
      if (flush !== undefined) {
        const problem = flushStrategyProblem(flush);
        if (problem !== undefined) problems.push(`"telemetry.flush" ${problem}`);
      }
    }
  }
  problems.push(...costProblems(config['cost']));
  problems.push(...devProblems(config['dev']));
  const template = config['template'];
  if (template !== undefined && (typeof template !== 'string' || !/^[a-z][a-z0-9-]{0,31}$/u.test(template))) {
    problems.push(`"template" must be a template's name, such as "cache", not ${shown(template)}`);
  }
  const wrapper = config['wrapper'];
  if (wrapper !== undefined && (typeof wrapper !== 'string' || !isProjectRelativePath(wrapper))) {
    problems.push(`"wrapper" must be a path inside the project, such as "wrapper.sh", not ${shown(wrapper)}`);
  }
  if (config['standalone'] === true && config['language'] === 'go') {
    problems.push('"standalone" is for TypeScript layers; a Go extension is a static binary that needs no runtime');
  }
  return problems;
}

/** A non-empty relative path that stays inside the project. */
function isProjectRelativePath(value: string): boolean {
  if (value === '' || value.includes('\\') || value.startsWith('/') || value.includes('\0')) return false;
  return !value.split('/').includes('..');
}

function costProblems(cost: unknown): string[] {
  if (cost === undefined) return [];
  if (typeof cost !== 'object' || cost === null || Array.isArray(cost)) {
    return ['"cost" must be an object such as {"initAddedMs": 50, "postRuntimeP99Ms": 5, "peakRssMiB": 20}'];
  }
  const problems: string[] = [];
  for (const [key, value] of Object.entries(cost)) {
    if (!(costBudgetFields as readonly string[]).includes(key)) {
      problems.push(
        `"cost" has no field ${shown(key)}; it knows ${costBudgetFields.map((field) => `"${field}"`).join(', ')}`,
      );
    } else if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      problems.push(`"cost.${key}" must be a number of at least 0, not ${shown(value)}`);
    }
  }
  return problems;
}

/** Problems of "dev": an object whose "function" holds path, handler, runtime and event (non-empty strings) and env. */
function devProblems(dev: unknown): string[] {
  if (dev === undefined) return [];
  const isObject = (value: unknown): value is Record<string, unknown> =>
    typeof value === 'object' && value !== null && !Array.isArray(value);
  const functionExample = '{"path": "example-function", "runtime": "nodejs22.x", "handler": "index.handler"}';
  const example = `{"function": ${functionExample}}`;
  if (!isObject(dev)) return [`"dev" must be an object such as ${example}`];
  const problems: string[] = [];
  for (const key of Object.keys(dev)) {
    if (key !== 'function') problems.push(`"dev" has no field ${shown(key)}; it knows "function"`);
  }
  const devFunction = dev['function'];
  if (devFunction === undefined) return problems;
  if (!isObject(devFunction)) return [...problems, `"dev.function" must be an object such as ${functionExample}`];
  for (const [key, value] of Object.entries(devFunction)) {
    if (!(devFunctionFields as readonly string[]).includes(key)) {
      problems.push(
        `"dev.function" has no field ${shown(key)}; it knows ${devFunctionFields.map((field) => `"${field}"`).join(', ')}`,
      );
    } else if (key === 'env') {
      if (!isObject(value)) {
        problems.push(
          '"dev.function.env" must be an object of variables such as {"AWS_LAMBDA_EXEC_WRAPPER": "/opt/wrapper"}',
        );
        continue;
      }
      for (const [name, setting] of Object.entries(value)) {
        if (!environmentVariableName.test(name))
          problems.push(`"dev.function.env" has a bad variable name ${shown(name)}`);
        else if (typeof setting !== 'string') problems.push(`"dev.function.env.${name}" must be a string`);
      }
    } else if (typeof value !== 'string' || value === '') {
      problems.push(`"dev.function.${key}" must be a non-empty string`);
    }
  }
  return problems;
}

/** Why a "nodeVersion" value is refused, or undefined when it is a major ("24") or an exact version ("24.22.3"). */
export function nodeVersionProblem(value: unknown): string | undefined {
  if (typeof value === 'string' && nodeVersionPattern.test(value)) {
    const major = Number(value.split('.')[0]);
    if (major >= 20) return undefined;
    return `must be 20 or later (Lambda's oldest Node.js runtime), not ${JSON.stringify(value)}`;
  }
  return `must be a Node.js major such as "24" or an exact version such as "24.22.3", not ${JSON.stringify(value)}`;
}

/** The node version a standalone build bundles, as written (a major or exact version). */
export function standaloneNodeVersion(config: ExtensionConfig): string | undefined {
  if (config.standalone !== true) return undefined;
  return config.nodeVersion ?? defaultStandaloneNodeVersion;
}

/**
 * The Node.js major of the oldest Lambda runtime a plain TypeScript layer
 * targets (nodejs22.x): what ext dev runs it on when "nodeVersion" is not set.
 */
export const defaultRuntimeNodeVersion = '22';

/** The node a TypeScript extension runs on: the bundled one (standalone), else the function runtime's. */
export function runtimeNodeVersion(config: ExtensionConfig): string {
  return standaloneNodeVersion(config) ?? config.nodeVersion ?? defaultRuntimeNodeVersion;
}

/** Config problems shown in one error; a file can hold millions, and one line must stay readable. */
const maximumReportedProblems = 5;

/** Far more than any real lambda-extension.json (a few hundred bytes); reading stops there. */
export const maximumConfigBytes = 1024 * 1024;

/**
 * The deepest lambda-extension.json nests two levels ("events": [...]); deeper values only serve to make
 * the checks that walk and quote them overflow the stack, so they are refused before JSON.parse.
 */
export const maximumConfigDepth = 32;

/** How deeply arrays and objects nest in a JSON text (strings skipped), counted without recursion. */
export function jsonNestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const character = text[index];
    if (inString) {
      if (character === '\\') index++;
      else if (character === '"') inString = false;
    } else if (character === '"') inString = true;
    else if (character === '[' || character === '{') deepest = Math.max(deepest, ++depth);
    else if (character === ']' || character === '}') depth--;
  }
  return deepest;
}

export function parseConfig(text: string, filePath: string): ExtensionConfig {
  let value: unknown;
  const depth = jsonNestingDepth(text);
  if (depth > maximumConfigDepth)
    throw new CliError(
      `${filePath}: values nest ${depth} levels deep; a lambda-extension.json needs at most ${maximumConfigDepth}`,
      { code: 'E_CONFIG_TOO_LARGE', hint: 'fix the file, or scaffold a fresh project with create-lambda-extension' },
    );
  try {
    // Windows editors save UTF-8 with a byte-order mark, which JSON.parse refuses.
    value = JSON.parse(text.startsWith('\ufeff') ? text.slice(1) : text);
  } catch (error) {
    throw new CliError(`${filePath} is not valid JSON: ${errorMessage(error)}`, {
      code: 'E_CONFIG_NOT_JSON',
      hint: 'fix the syntax, or scaffold a fresh project with create-lambda-extension',
    });
  }
  const problems = configProblems(value);
  if (problems.length > 0) {
    const shown = problems.slice(0, maximumReportedProblems).join('; ');
    const more = problems.length - maximumReportedProblems;
    throw new CliError(`${filePath}: ${shown}${more > 0 ? `; and ${more} more problem${more === 1 ? '' : 's'}` : ''}`, {
      code: 'E_CONFIG_INVALID',
      hint: 'see schema/lambda-extension.schema.json in create-lambda-extension for every field',
    });
  }
  const config = value as ExtensionConfig & { $schema?: string };
  const { $schema: _schema, ...rest } = config;
  return { ...rest, architectures: architectures.filter((a) => rest.architectures.some((b) => b === a)) };
}

/** Values given on the command line that replace the config's for one run. */
export interface ConfigOverrides {
  name?: string | undefined;
  entry?: string | undefined;
  version?: string | undefined;
  sourcemap?: boolean | undefined;
  /** Bundle a node binary in the layer (true) or use the runtime's (false). */
  standalone?: boolean | undefined;
  /** The node to bundle: a major or an exact version; implies nothing about `standalone` on its own. */
  nodeVersion?: string | undefined;
}

const overrideInvalid = 'E_CONFIG_OVERRIDE_INVALID';

/** The config with the overrides applied, each checked as strictly as the file's own fields. */
export function applyConfigOverrides(config: ExtensionConfig, overrides: ConfigOverrides): ExtensionConfig {
  const result = { ...config };
  if (overrides.name !== undefined) {
    const problem = extensionNameProblem(overrides.name);
    if (problem !== undefined) throw usageError(overrideInvalid, `--name: ${problem}`, 'pass a valid --name');
    result.name = overrides.name;
  }
  if (overrides.entry !== undefined) {
    if (overrides.entry === '')
      throw usageError(
        overrideInvalid,
        '--entry: must not be empty',
        "pass --entry with the extension's entry file, such as src/index.ts",
      );
    result.entry = overrides.entry;
  }
  if (overrides.version !== undefined) {
    const problem = versionProblem(overrides.version);
    if (problem !== undefined)
      throw usageError(overrideInvalid, `--extension-version: ${problem}`, 'pass a valid --extension-version');
    result.version = overrides.version;
  }
  if (overrides.sourcemap !== undefined) result.sourcemap = overrides.sourcemap;
  if (overrides.nodeVersion !== undefined) {
    const problem = nodeVersionProblem(overrides.nodeVersion);
    if (problem !== undefined)
      throw usageError(overrideInvalid, `--node-version ${problem}`, 'pass --node-version 24 (or 22)');
    result.nodeVersion = overrides.nodeVersion;
  }
  if (overrides.standalone !== undefined) {
    if (overrides.standalone && result.language === 'go') {
      throw usageError(
        overrideInvalid,
        '--standalone is for TypeScript layers; a Go extension is a static binary that needs no runtime',
        'drop --standalone',
      );
    }
    result.standalone = overrides.standalone;
  }
  return result;
}

/** Reads and validates <projectDirectory>/lambda-extension.json. */
export async function readConfig(projectDirectory: string): Promise<ExtensionConfig> {
  const filePath = path.join(projectDirectory, configFileName);
  let text: string;
  try {
    const bounded = await readBoundedText(filePath, maximumConfigBytes);
    if (bounded === undefined) {
      throw new CliError(`${filePath} is larger than ${maximumConfigBytes / 1024 / 1024} MiB, so it is not read`, {
        code: 'E_CONFIG_TOO_LARGE',
        hint: 'a lambda-extension.json is a few hundred bytes; scaffold a fresh one with create-lambda-extension',
      });
    }
    text = bounded;
  } catch (error) {
    if (error instanceof CliError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !existsSync(projectDirectory)) {
      throw new CliError(`the project directory ${projectDirectory} does not exist`, {
        code: 'E_CONFIG_PROJECT_MISSING',
        hint: 'pass --cwd with the folder that holds lambda-extension.json',
      });
    }
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CliError(`no ${configFileName} in ${projectDirectory}`, {
        code: 'E_CONFIG_MISSING',
        hint: 'run this in a project made by create-lambda-extension, or pass --cwd DIR',
      });
    }
    throw new CliError(`cannot read ${filePath}: ${errorMessage(error)}`, { code: 'E_CONFIG_UNREADABLE' });
  }
  return parseConfig(text, filePath);
}

export function isArchitectureList(value: unknown): value is Architecture[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string' && isArchitecture(item));
}

/**
 * The project a command run in `start` means: the nearest folder, from
 * `start` up to the filesystem root, that holds lambda-extension.json, as
 * npm, cargo and go find theirs. The walk stops at the root of another
 * project (a package.json or go.mod without lambda-extension.json), so that a
 * command run inside some other project never builds the extension around it.
 * Undefined when there is none: the caller reports the missing file in `start`.
 */
export function findProjectDirectory(start: string): string | undefined {
  let directory = path.resolve(start);
  for (;;) {
    if (existsSync(path.join(directory, configFileName))) return directory;
    if (existsSync(path.join(directory, 'package.json')) || existsSync(path.join(directory, 'go.mod')))
      return undefined;
    const parent = path.dirname(directory);
    if (parent === directory) return undefined;
    directory = parent;
  }
}

import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { hostArchitecture } from '../layer/architectures.js';
import { CliError, errorMessage } from '../errors.js';
import { toolkitRoot } from '../paths.js';
import { runProcess } from './python.js';

/**
 * nodejs22.x / nodejs24.x functions run on the toolkit's own Node runtime
 * client (src/runtime-client/node, compiled to
 * build/src/runtime-client/node/index.js), on a node of the runtime's major.
 */

/** The runtime client's entry in this package. */
export function nodeRuntimeClientPath(root: string = toolkitRoot): string {
  return path.join(root, 'build', 'src', 'runtime-client', 'node', 'index.js');
}

export async function requireNodeRuntimeClient(root: string = toolkitRoot): Promise<string> {
  const client = nodeRuntimeClientPath(root);
  const stat = await fs.stat(client).catch(() => undefined);
  if (stat?.isFile() !== true) {
    throw new CliError(`the toolkit's Node runtime client is missing: ${client}`, {
      code: 'E_FUNCTION_NODE_CLIENT_MISSING',
      hint: 'reinstall create-lambda-extension (in a checkout of the toolkit: npm run build)',
    });
  }
  return client;
}

export interface FunctionNode {
  path: string;
  /** "22.23.5"; "unknown" when the binary could not say. */
  version: string;
  major: number | undefined;
  source: 'option' | 'current' | 'fetched';
}

/** The version a node binary reports, or undefined when it does not run. */
export async function nodeVersionOf(binary: string, signal?: AbortSignal): Promise<string | undefined> {
  const result = await runProcess(binary, ['--version'], { env: {}, timeoutMs: 20_000, signal });
  return result.status === 0 ? result.stdout.trim().replace(/^v/, '') : undefined;
}

export interface FindNodeOptions {
  major: number;
  /** `--node`. */
  nodePath?: string | undefined;
  /** The node running ext (process.execPath), used when its major is the runtime's. */
  currentNode?: { path: string; version: string } | undefined;
  /** Fetches the Linux node of a major through npm, cached (standalone's node cache). */
  fetchNode?: ((major: number) => Promise<{ path: string; version: string }>) | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * The node a nodejs<major>.x function runs on: --node; else the node running
 * ext when it has the runtime's major; else that major's Linux node, fetched
 * once from npm and cached, as ext dev runs a TypeScript extension.
 */
export async function findFunctionNode(options: FindNodeOptions): Promise<FunctionNode> {
  if (options.nodePath !== undefined) {
    const file = path.resolve(options.nodePath);
    try {
      await fs.access(file, fsConstants.X_OK);
    } catch (error) {
      throw new CliError(`--node: ${file} is not an executable file (${errorMessage(error)})`, {
        code: 'E_FUNCTION_NODE_UNAVAILABLE',
        exitCode: 2,
        hint: 'pass the path of a node binary, such as --node "$(command -v node)"',
      });
    }
    const version = (await nodeVersionOf(file, options.signal)) ?? 'unknown';
    return { path: file, version, major: majorOf(version), source: 'option' };
  }
  const current = options.currentNode ?? { path: process.execPath, version: process.versions.node };
  if (majorOf(current.version) === options.major) {
    return { path: current.path, version: current.version, major: options.major, source: 'current' };
  }
  if (options.fetchNode === undefined || hostArchitecture() === undefined) {
    return { path: current.path, version: current.version, major: majorOf(current.version), source: 'current' };
  }
  try {
    const fetched = await options.fetchNode(options.major);
    return { ...fetched, major: majorOf(fetched.version), source: 'fetched' };
  } catch (error) {
    if (error instanceof CliError && error.exitCode === 130) throw error;
    throw new CliError(
      `ext dev cannot get node ${options.major} to run the nodejs${options.major}.x function on: ${errorMessage(error)}`,
      {
        code: 'E_FUNCTION_NODE_UNAVAILABLE',
        hint: 'check the network (the binary is fetched once, then cached), or pass --node "$(command -v node)"',
        cause: error,
      },
    );
  }
}

function majorOf(version: string): number | undefined {
  const major = /^(\d+)\./.exec(version);
  return major === null ? undefined : Number(major[1]);
}

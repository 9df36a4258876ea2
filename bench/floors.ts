/**
 * The floors: the smallest programs that do the same job as what the bench
 * measures, built and started the same way, so that every figure can be read
 * as a ratio to the least it could cost (bench/floors/, bench only).
 */
import path from 'node:path';
import { goBuildArguments, goBuildEnvironment } from '../src/core/build/index.js';
import { readConfig } from '../src/core/config.js';
import { timeCommand } from './measure.js';
import { root } from './rows.js';

const floorsSource = path.join(root, 'bench', 'floors');

/** How to start a program: the probes spawn `command` with `args`. */
export interface Program {
  command: string;
  args: string[];
}

/** The null Go client, built for x86_64 into `directory` with exactly the flags and environment of `ext build`. */
export async function buildNullGo(directory: string): Promise<Program> {
  const output = path.join(directory, 'null-go');
  await timeCommand('go', goBuildArguments('0.1.0', output, '.'), {
    cwd: path.join(floorsSource, 'null-go'),
    env: goBuildEnvironment('x86_64'),
  });
  return { command: output, args: [] };
}

/** The null Node client, with the node options the TypeScript project's launcher passes. */
export async function nullNode(tsProject: string): Promise<Program> {
  const { nodeOptions = [] } = await readConfig(tsProject);
  return { command: process.execPath, args: [...nodeOptions, path.join(floorsSource, 'null-node.mjs')] };
}

/** A Node process that bundles `entry` once through esbuild's JS API, with `ext build`'s options. */
export function esbuildApi(project: string, entry: string, outfile: string): Program {
  return {
    command: process.execPath,
    args: [path.join(root, 'build', 'bench', 'floors', 'esbuild-api.js'), project, entry, outfile, '0.1.0'],
  };
}

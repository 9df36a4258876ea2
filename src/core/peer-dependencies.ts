import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CliError } from './errors.js';
import { toolkitRoot } from './paths.js';

/**
 * The packages only some commands need: esbuild (bundling TypeScript) and
 * the AWS SDK clients (ext publish). They are optional peer dependencies of
 * the toolkit, which npm does not install with it, so that
 * `npx create-lambda-extension` installs one package and asks its first
 * question at once; the generated projects list them in their own
 * devDependencies, so `npm install` in a project brings them. Each is loaded
 * through loadPeerDependency, which turns its absence into one line naming
 * the command that installs it. Adding one (another AWS SDK client): list it
 * in package.json's peerDependencies and peerDependenciesMeta (optional), in
 * the templates' package.json.hbs devDependencies with the same range, and
 * load it through loadPeerDependency.
 */

/** Whether an error is Node's "this package is not installed" for `name` itself (not one of its own dependencies). */
export function isMissingPackage(error: unknown, name: string): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  const message = (error as Error).message;
  return message.includes(`'${name}'`) || message.includes(`"${name}"`);
}

/** The range package.json gives a peer dependency, read only when it is missing. */
export function peerDependencyRange(name: string): string | undefined {
  try {
    const manifest = JSON.parse(readFileSync(path.join(toolkitRoot, 'package.json'), 'utf8')) as {
      peerDependencies?: Record<string, string>;
    };
    return manifest.peerDependencies?.[name];
  } catch {
    return undefined;
  }
}

/** The error for a peer dependency a command needs and the project lacks. */
export function missingPeerDependency(name: string, neededFor: string): CliError {
  const range = peerDependencyRange(name);
  const spec = range === undefined ? name : `${name}@${range}`;
  return new CliError(`${neededFor} needs ${name}, which is not installed`, {
    code: 'E_PEER_DEPENDENCY_MISSING',
    hint: `run npm install -D ${spec} in the project (generated projects list it in their devDependencies)`,
  });
}

/** Loads a peer dependency, or fails with the one line that says how to install it. */
export async function loadPeerDependency<T>(name: string, neededFor: string, load: () => T | Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (isMissingPackage(error, name)) throw missingPeerDependency(name, neededFor);
    throw error;
  }
}

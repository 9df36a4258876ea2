import { chmod, mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Architecture } from '../layer/index.js';
import { cachedNodeBinary, type NodeCacheOptions } from './node-cache.js';
import { bundledNodePath } from './layout.js';
import { stripBinary } from './strip.js';

export {
  cacheDirectory,
  cacheDirectoryVariable,
  cachedNodeBinary,
  isExactNodeVersion,
  nodePackageName,
  resolveNodeVersion,
  trustDirectory,
  type CachedNodeBinary,
  type NodeCacheOptions,
  type ResolvedNodeVersion,
} from './node-cache.js';
export {
  defaultStandaloneNodeVersion,
  maximumCompatibleRuntimes,
  nodeVersionPattern,
  standaloneCompatibilityNote,
  standaloneCompatibleRuntimes,
} from './runtimes.js';
export { stripperCandidates } from './strip.js';

export { bundledNodePath } from './layout.js';

export interface BundledNode {
  architecture: Architecture;
  version: string;
  /** The stripper used, or undefined when the binary went in unstripped. */
  strippedWith: string | undefined;
  /** The binary as published in node-linux-<arch>. */
  originalBytes: number;
  /** As it sits in the layer. */
  bytes: number;
  /** Whether this build fetched it (not in the cache yet, or damaged there). */
  fetched: boolean;
}

/**
 * Puts node `version` for `architecture` at `<layer>/<name>/bin/node`: from
 * the cache (fetched first if need be), without symbols when a stripper for
 * that machine is on PATH, the cached copy left untouched.
 */
export async function installBundledNode(
  layerDirectory: string,
  name: string,
  version: string,
  architecture: Architecture,
  options: NodeCacheOptions,
): Promise<BundledNode> {
  const target = path.join(layerDirectory, bundledNodePath(name));
  await mkdir(path.dirname(target), { recursive: true });
  // A private copy, verified as it is made: the shared entry is never read again, so nothing runs (the
  // strip step asks the stripped copy for --version) that is not what the registry published.
  const verified = `${target}.verified`;
  const cached = await cachedNodeBinary(version, architecture, { ...options, copyTo: verified });
  const stripped = await stripBinary(verified, target, architecture, cached.bytes, options.environment);
  if (stripped.tool === undefined) await rename(verified, target);
  else await rm(verified, { force: true });
  await chmod(target, 0o755);
  return {
    architecture,
    version,
    strippedWith: stripped.tool,
    originalBytes: cached.bytes,
    bytes: stripped.bytesAfter,
    fetched: cached.fetched,
  };
}

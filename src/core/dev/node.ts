import { spawnSync } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { architectureOfElfMachine, hostArchitecture, type Architecture } from '../layer/architectures.js';
import { runtimeNodeVersion, type ExtensionConfig } from '../config.js';
import { CliError, errorMessage } from '../errors.js';
import type { NodeRuntime } from '../emulator/types.js';

/**
 * Which node runs a TypeScript extension under `ext dev`, and which
 * architecture a project's layer is built for.
 *
 * On Lambda, a plain TypeScript layer runs on the function's Node.js runtime
 * (nodejs22.x, nodejs24.x), not on the node that runs `ext`. So ext dev runs
 * it on that runtime's major ("nodeVersion" in lambda-extension.json, else
 * 22, the oldest such runtime), for the layer's architecture: the Linux
 * binary from npm's node-linux-<arch>, fetched and cached exactly like the
 * node a standalone layer bundles. It goes into ext dev's own build of the
 * layer as bin/node, which is /opt/bin/node: first on Lambda's PATH, where
 * the launcher's `exec node` finds it. A foreign one (arm64 on an x86_64
 * host) is a real file there, so that the CPU emulation set-up sees it and
 * runs it under qemu like any other program of the layer.
 */

/** The architecture ext dev builds a project for: --arch, else this machine's if the project builds it, else the project's first. */
export function devArchitecture(
  config: Pick<ExtensionConfig, 'architectures'>,
  requested: Architecture | undefined,
  host: Architecture | undefined = hostArchitecture(),
): Architecture | undefined {
  if (requested !== undefined) return requested;
  if (host !== undefined && config.architectures.includes(host)) return host;
  return config.architectures[0] ?? host;
}

export interface DevNodeRequest {
  /** The dev layer directory (ext dev's own build): bin/node goes into it. */
  layerDirectory: string;
  config: ExtensionConfig;
  architecture: Architecture;
  /** --node: a node binary to use instead of fetching the project's. */
  nodePath?: string | undefined;
  nodeCacheDirectory?: string | undefined;
  signal?: AbortSignal | undefined;
  onStatus?: ((message: string) => void) | undefined;
}

/** The node binaries this process already checked, so that --watch does not hash 100 MB on every rebuild. */
const checkedNodes = new Map<string, Promise<{ version: string; path: string }>>();

async function targetNode(request: DevNodeRequest, requested: string): Promise<{ version: string; path: string }> {
  const key = `${request.nodeCacheDirectory ?? ''}\0${requested}\0${request.architecture}`;
  let found = checkedNodes.get(key);
  if (found === undefined) {
    found = (async () => {
      const { cachedNodeBinary, resolveNodeVersion } = await import('../standalone/index.js');
      const cacheOptions = {
        cacheDirectory: request.nodeCacheDirectory,
        signal: request.signal,
        onNote: (note: string) => request.onStatus?.(note),
        onFetch: (spec: string) =>
          request.onStatus?.(`fetching ${spec} through npm for ext dev (cached for later runs)`),
      };
      try {
        const resolved = await resolveNodeVersion(requested, cacheOptions);
        const binary = await cachedNodeBinary(resolved.version, request.architecture, cacheOptions);
        return { version: resolved.version, path: binary.path };
      } catch (error) {
        if (!(error instanceof CliError) || error.exitCode === 130) throw error;
        throw new CliError(
          `ext dev cannot get node ${requested} (${request.architecture}) to run the extension on: ${error.message}`,
          {
            code: 'E_DEV_NODE_UNAVAILABLE',
            hint: 'check the network (the binary is fetched once, then cached), or pass --node "$(command -v node)" to run it on a node of this machine',
            cause: error,
          },
        );
      }
    })();
    checkedNodes.set(key, found);
    found.catch(() => checkedNodes.delete(key));
  }
  return found;
}

/** The architecture of an ELF file, or undefined for anything else (a script, a wrapper). */
async function elfArchitecture(file: string): Promise<Architecture | undefined> {
  const handle = await fs.open(file, 'r').catch(() => undefined);
  if (handle === undefined) return undefined;
  try {
    const head = Buffer.alloc(20);
    const { bytesRead } = await handle.read(head, 0, 20, 0);
    if (bytesRead < 20 || head.toString('latin1', 0, 4) !== '\x7fELF') return undefined;
    return architectureOfElfMachine(head.readUInt16LE(18));
  } finally {
    await handle.close();
  }
}

async function givenNode(nodePath: string): Promise<{ version: string; path: string; architecture?: Architecture }> {
  const file = path.resolve(nodePath);
  try {
    await fs.access(file, fsConstants.X_OK);
  } catch (error) {
    throw new CliError(`--node: ${file} is not an executable file (${errorMessage(error)})`, {
      code: 'E_DEV_NODE_NOT_EXECUTABLE',
      exitCode: 2,
      hint: 'pass the path of a node binary, such as --node "$(command -v node)"',
    });
  }
  const architecture = await elfArchitecture(file);
  const host = hostArchitecture();
  // A foreign binary cannot tell its version here without the emulator: leave it unknown.
  const answer =
    architecture === undefined || architecture === host
      ? spawnSync(file, ['--version'], { encoding: 'utf8', timeout: 20_000 })
      : undefined;
  const version = answer?.status === 0 ? answer.stdout.trim().replace(/^v/, '') : 'unknown';
  return { version, path: file, ...(architecture === undefined ? {} : { architecture }) };
}

/**
 * Puts the node a plain TypeScript layer runs on into ext dev's build of it,
 * and says which one it is. Undefined for Go and standalone layers (which
 * carry their own node): nothing to add.
 */
export async function provideDevNode(request: DevNodeRequest): Promise<NodeRuntime | undefined> {
  const { config, architecture } = request;
  if (config.language !== 'ts' || config.standalone === true) return undefined;
  const requested = runtimeNodeVersion(config);
  const node =
    request.nodePath === undefined
      ? { ...(await targetNode(request, requested)), architecture }
      : await givenNode(request.nodePath);
  const binDirectory = path.join(request.layerDirectory, 'bin');
  const target = path.join(binDirectory, 'node');
  await fs.mkdir(binDirectory, { recursive: true });
  await fs.rm(target, { force: true });
  const foreign = node.architecture !== undefined && node.architecture !== hostArchitecture();
  if (foreign) {
    // A real file, which the emulation set-up finds and wraps; a hard link costs nothing, a copy
    // (a reflink where the filesystem can) is the fallback across filesystems.
    // The link shares the cache's file, which must never change: no chmod on it (it is 0755 already).
    try {
      await fs.link(node.path, target);
    } catch {
      await fs.copyFile(node.path, target, fsConstants.COPYFILE_FICLONE);
      await fs.chmod(target, 0o755);
    }
  } else {
    await fs.symlink(node.path, target);
  }
  return {
    version: node.version,
    path: node.path,
    ...(node.architecture === undefined ? {} : { architecture: node.architecture }),
    source: request.nodePath === undefined ? 'project' : 'option',
    ...(request.nodePath === undefined ? { requested } : {}),
  };
}

import { rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { hostArchitecture, type Architecture } from '../architectures.js';
import { CliError, errorMessage } from '../errors.js';
import { prepareCpuEmulation, type EmulationPreference } from '../emulator/cpu-emulation/index.js';
import { runEmulator } from '../emulator/run.js';
import { listExtensionFiles } from '../emulator/processes/launch.js';
import { extractLayerZip } from '../emulator/layer-zip.js';
import { devArchitecture, provideDevNode } from './node.js';
import { cleanupOnExit } from '../emulator/processes/supervisor.js';
import type { CpuEmulation, EmulatorOptions, EmulatorReport, NodeRuntime } from '../emulator/types.js';

/**
 * `ext dev`: find or build the layer, then run it in the emulator, once or
 * on every source change.
 */

/** ext dev's own build, beside the user's dist/<arch>. */
const devOutDirectory = path.join('dist', '.dev');

/** `progress` is chatter a terminal user wants; `warning` and `error` matter everywhere. */
export type DevStatusKind = 'progress' | 'warning' | 'error';

export interface DevOptions extends Omit<EmulatorOptions, 'layerDirectory' | 'signal' | 'cpuEmulation'> {
  /** The project to build when no layer is given. */
  projectDirectory: string;
  /** A layer directory (the folder that becomes /opt) or a layer zip. Default: build the project. */
  layer?: string | undefined;
  /**
   * The function's architecture. Default: the layer's (from its ELF files, else its name), or this
   * machine's when building. Another one than this machine's runs under qemu (see cpu-emulation/).
   */
  architecture?: Architecture | undefined;
  /** How a foreign layer runs: binfmt_misc or qemu-<arch> (`auto`, the default, tries both), or `off`. */
  emulation?: EmulationPreference | undefined;
  /** Build and status messages ("building…", "change detected…", warnings, errors while watching). */
  onStatus?: ((message: string, kind: DevStatusKind) => void) | undefined;
  /** Compiler output while building. */
  onBuildOutput?: ((chunk: string) => void) | undefined;
  /** TypeScript: check types while building (see typecheck.ts); default true. A type error fails the build. */
  typecheck?: boolean | undefined;
  /**
   * A plain TypeScript project: the node binary to run it on. Default: the Linux node of the project's
   * runtime ("nodeVersion", else 22) for the layer's architecture, fetched from npm and cached (see dev/node.ts).
   */
  nodePath?: string | undefined;
  /** Where fetched node binaries are cached; default the CLI's cache folder. */
  nodeCacheDirectory?: string | undefined;
  signal?: AbortSignal | undefined;
}

interface PreparedLayer {
  directory: string;
  architecture?: Architecture | undefined;
  cpuEmulation?: CpuEmulation | undefined;
  /** The node that runs a TypeScript layer that ext dev built. */
  node?: NodeRuntime | undefined;
  cleanup(): Promise<void>;
}

/** What `--watch` polls: the layer (directory or zip) when one is given, else the project. */
function watchRoot(options: DevOptions): string {
  return options.layer === undefined
    ? path.resolve(options.projectDirectory)
    : path.resolve(options.projectDirectory, options.layer);
}

/** The build's hints say "run ext build again"; inside `ext dev` the way out is different. */
function devBuildError(error: CliError, watching: boolean): CliError {
  const retry = watching
    ? 'ext dev --watch rebuilds on the next change'
    : 'then rerun ext dev (or use ext dev --watch, which rebuilds on every change)';
  const hint = error.hint?.replace(/,? then run ext build again\.?$/, watching ? `; ${retry}` : `, ${retry}`);
  return new CliError(error.message, { code: error.code, exitCode: error.exitCode, hint: hint ?? retry, cause: error });
}

/** The layer, unpacked or built, then set up to run on this machine (under qemu when it is foreign). */
async function prepareLayer(options: DevOptions, watching: boolean): Promise<PreparedLayer> {
  const layer = await obtainLayer(options, watching);
  try {
    const prepared = await prepareCpuEmulation({
      layerDirectory: layer.directory,
      ownsLayer: layer.owned,
      shownAs: layer.shownAs,
      architecture: options.architecture ?? layer.architecture,
      preference: options.emulation,
    });
    if (prepared.warning !== undefined) options.onStatus?.(`warning: ${prepared.warning}`, 'warning');
    return {
      directory: prepared.layerDirectory,
      architecture: prepared.functionArchitecture,
      cpuEmulation: prepared.cpuEmulation,
      node: layer.node,
      cleanup: async () => {
        await prepared.cleanup();
        await layer.cleanup();
      },
    };
  } catch (error) {
    await layer.cleanup();
    const host = hostArchitecture();
    // The architecture came from the project, not from --arch: say how to run it natively instead.
    if (
      error instanceof CliError &&
      options.architecture === undefined &&
      layer.architecture !== undefined &&
      host !== undefined &&
      layer.architecture !== host
    ) {
      throw new CliError(error.message, {
        code: error.code,
        exitCode: error.exitCode,
        hint: `${error.hint === undefined ? '' : `${error.hint}; `}or pass --arch ${host} to build and run it for this machine`,
        cause: error,
      });
    }
    throw error;
  }
}

interface ObtainedLayer extends PreparedLayer {
  /** A folder of ext dev's own (an unpacked zip), which it may change. */
  owned: boolean;
  shownAs: string;
}

async function obtainLayer(options: DevOptions, watching: boolean): Promise<ObtainedLayer> {
  if (options.layer !== undefined) {
    if (options.nodePath !== undefined) {
      throw new CliError('--node: applies when ext dev builds the project; a --layer runs on the node on PATH', {
        code: 'E_DEV_NODE_NOT_APPLICABLE',
        exitCode: 2,
        hint: 'drop --layer to build and run the project on --node, or drop --node',
      });
    }
    const layer = path.resolve(options.projectDirectory, options.layer);
    const stat = await fs.stat(layer).catch(() => undefined);
    if (stat === undefined) {
      throw new CliError(`--layer: ${layer} does not exist`, {
        code: 'E_DEV_LAYER_MISSING',
        hint: 'pass a layer directory (holding extensions/) or a layer zip',
      });
    }
    if (stat.isDirectory()) {
      await requireExtensions(layer, layer);
      return { directory: layer, owned: false, shownAs: layer, cleanup: async () => {} };
    }
    const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'ext-dev-layer-'));
    // A second Ctrl-C exits at once, without unwinding to our cleanup: remove the folder on exit too.
    const forget = cleanupOnExit(() => rmSync(directory, { recursive: true, force: true }));
    const cleanup = async () => {
      await fs.rm(directory, { recursive: true, force: true });
      forget();
    };
    try {
      await extractLayerZip(layer, directory);
    } catch (error) {
      await cleanup();
      // extractLayerZip's CliErrors already name the zip and say what to fix.
      if (error instanceof CliError)
        throw new CliError(`--layer: ${error.message}`, {
          code: error.code,
          ...(error.hint === undefined ? {} : { hint: error.hint }),
          cause: error,
        });
      throw new CliError(`--layer: cannot unpack ${layer}: ${errorMessage(error)}`, {
        code: 'E_DEV_LAYER_UNREADABLE',
        hint: 'pass a zip made by `ext pack` or any layer zip, or a layer directory',
      });
    }
    try {
      await requireExtensions(directory, layer);
    } catch (error) {
      await cleanup();
      throw error;
    }
    return { directory, owned: true, shownAs: layer, cleanup };
  }
  const { readConfig } = await import('../config.js');
  const config = await readConfig(path.resolve(options.projectDirectory));
  const architecture = devArchitecture(config, options.architecture);
  if (architecture === undefined) {
    throw new CliError(`ext dev cannot build for this machine (${process.arch}): Lambda runs x86_64 and arm64 only`, {
      code: 'E_DEV_HOST_UNSUPPORTED',
      hint: 'build on an x86_64 or arm64 machine, or pass --layer',
    });
  }
  const host = hostArchitecture();
  const foreign =
    options.architecture === undefined && host !== undefined && architecture !== host
      ? ` (the project's architecture; on this ${host} machine it runs under emulation, and --arch ${host} runs it natively)`
      : '';
  options.onStatus?.(`building ${options.projectDirectory} for ${architecture}${foreign}…`, 'progress');
  const { build } = await import('../build.js');
  let result: Awaited<ReturnType<typeof build>>;
  let node: NodeRuntime | undefined;
  let layer: Awaited<ReturnType<typeof build>>['layers'][number] | undefined;
  try {
    result = await build({
      projectDirectory: options.projectDirectory,
      architectures: [architecture],
      outDirectory: devOutDirectory,
      onOutput: options.onBuildOutput,
      typecheck: options.typecheck,
      nodeCacheDirectory: options.nodeCacheDirectory,
      signal: options.signal,
    });
    layer = result.layers[0];
    if (layer === undefined)
      throw new CliError('the build produced no layer', {
        code: 'E_DEV_BUILD_EMPTY',
        hint: 'run `ext build` to see why',
      });
    const bundled = result.standalone?.nodes.find((entry) => entry.architecture === architecture);
    node =
      result.standalone !== undefined && bundled !== undefined
        ? {
            version: result.standalone.nodeVersion,
            path: path.join(layer.directory, result.standalone.nodePath),
            architecture,
            source: 'bundled',
            requested: result.standalone.requestedNodeVersion,
          }
        : await provideDevNode({
            layerDirectory: layer.directory,
            config,
            architecture,
            nodePath: options.nodePath,
            nodeCacheDirectory: options.nodeCacheDirectory,
            signal: options.signal,
            onStatus: (message) => options.onStatus?.(message, 'progress'),
          });
    if (node !== undefined && node.source !== 'bundled') {
      // bin/node is ext dev's own write into its build: recorded, so that the next build still knows the folder as ours.
      const { OutputDirectory } = await import('../output-ownership.js');
      const output = await OutputDirectory.open(options.projectDirectory, devOutDirectory);
      await output.record({ entry: architecture, from: layer.directory });
    }
  } catch (error) {
    throw error instanceof CliError ? devBuildError(error, watching) : error;
  }
  if (node === undefined && options.nodePath !== undefined) {
    throw new CliError(
      `--node: applies to a plain TypeScript layer; this ${config.language === 'go' ? 'Go' : 'standalone'} layer runs no node of this machine`,
      {
        code: 'E_DEV_NODE_NOT_APPLICABLE',
        exitCode: 2,
        hint: 'drop --node',
      },
    );
  }
  return {
    directory: layer.directory,
    owned: false,
    shownAs: layer.directory,
    architecture,
    ...(node === undefined ? {} : { node }),
    cleanup: async () => {},
  };
}

/**
 * Lambda starts nothing from a layer without files in extensions/, so a run
 * would "pass" without testing anything. `shownAs` is the path the user
 * gave, not the temp folder a zip was unpacked to.
 */
async function requireExtensions(directory: string, shownAs: string): Promise<void> {
  if ((await listExtensionFiles(directory)).length > 0) return;
  const hasFolder = await fs.stat(path.join(directory, 'extensions')).catch(() => undefined);
  throw new CliError(
    `--layer: ${shownAs} has ${hasFolder === undefined ? 'no extensions/ folder' : 'no files in extensions/'}; Lambda would start nothing from it`,
    {
      code: 'E_EMULATOR_NO_EXTENSIONS',
      hint: 'pass the folder that becomes /opt (or its zip), with the extension executables at the top of extensions/',
    },
  );
}

function emulatorOptions(options: DevOptions, layer: PreparedLayer, signal: AbortSignal | undefined): EmulatorOptions {
  const {
    projectDirectory: _project,
    layer: _layer,
    architecture: _architecture,
    emulation: _emulation,
    onStatus: _status,
    onBuildOutput: _output,
    typecheck: _typecheck,
    nodePath: _nodePath,
    nodeCacheDirectory: _nodeCache,
    signal: _signal,
    ...rest
  } = options;
  return {
    ...rest,
    layerDirectory: layer.directory,
    ...(layer.architecture === undefined ? {} : { architecture: layer.architecture }),
    ...(layer.cpuEmulation === undefined ? {} : { cpuEmulation: layer.cpuEmulation }),
    ...(layer.node === undefined ? {} : { node: layer.node }),
    ...(signal === undefined ? {} : { signal }),
  };
}

/** Builds or unpacks the layer and runs one lifecycle in the emulator. */
export async function runDev(options: DevOptions): Promise<EmulatorReport> {
  const layer = await prepareLayer(options, false);
  try {
    return await runEmulator(emulatorOptions(options, layer, options.signal));
  } finally {
    await layer.cleanup();
  }
}

// ----- watching -------------------------------------------------------------

/** Build output, dependencies and VCS data: never sources, and rewritten by the build itself. */
const ignoredDirectories = new Set(['dist', 'node_modules', '.git', 'build']);
/** Editor swap, backup and lock files change while typing, not on save. */
const editorScratch = /(\.sw[a-px]|~)$|^\.#|^#.*#$|^4913$/;

export const watchPollIntervalMs = 300;

/** Path (relative to the root) → what identifies this version of the file. */
type Snapshot = Map<string, string>;

/**
 * Every file under `root` with its mtime, size, inode and mode. Polling
 * stats, not fs.watch: an editor's atomic save (write a temp file, rename
 * it over the original) gives the file a new inode, and Node 20's recursive
 * watcher on Linux keeps watching the old one, so later saves go unseen.
 * Polling sees every save, of a zip too, at the cost of a stat per file.
 */
export async function snapshotFiles(root: string): Promise<Snapshot> {
  const files: Snapshot = new Map();
  const signature = (stat: { mtimeMs: number; size: number; ino: number; mode: number }) =>
    `${stat.mtimeMs}:${stat.size}:${stat.ino}:${stat.mode}`;
  const rootStat = await fs.stat(root).catch(() => undefined);
  if (rootStat === undefined) return files;
  if (!rootStat.isDirectory()) {
    files.set(path.basename(root), signature(rootStat));
    return files;
  }
  const walk = async (directory: string, relative: string): Promise<void> => {
    const entries = await fs.readdir(directory, { withFileTypes: true }).catch(() => []);
    await Promise.all(
      entries.map(async (entry) => {
        const name = relative === '' ? entry.name : `${relative}/${entry.name}`;
        if (entry.isDirectory()) {
          if (!ignoredDirectories.has(entry.name)) await walk(path.join(directory, entry.name), name);
          return;
        }
        if (editorScratch.test(entry.name)) return;
        // stat, not lstat: a symlinked file changes when its target does.
        const stat = await fs.stat(path.join(directory, entry.name)).catch(() => undefined);
        if (stat !== undefined) files.set(name, signature(stat));
      }),
    );
  };
  await walk(root, '');
  return files;
}

/** The first path that differs between two snapshots, or undefined. */
export function firstDifference(before: Snapshot, after: Snapshot): string | undefined {
  for (const [file, signature] of after) {
    if (before.get(file) !== signature) return file;
  }
  for (const file of before.keys()) {
    if (!after.has(file)) return file;
  }
  return undefined;
}

/**
 * Polls `root` and calls `onChange` once the tree has changed and then held
 * still for one poll, so a save that writes a temp file and renames it (or a
 * `git checkout` touching many files) is one change, not several.
 */
export function pollForChanges(
  root: string,
  onChange: (file: string) => void,
  intervalMs = watchPollIntervalMs,
): { ready: Promise<void>; close(): void } {
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let previous: Snapshot = new Map();
  let settling: string | undefined;
  const poll = async (): Promise<void> => {
    const current = await snapshotFiles(root);
    if (closed) return;
    const changed = firstDifference(previous, current);
    previous = current;
    if (changed !== undefined) {
      // The latest name: after a temp-file-and-rename save, that is the saved file, not the temp one.
      settling = changed;
    } else if (settling !== undefined) {
      const file = settling;
      settling = undefined;
      onChange(file);
    }
    if (!closed) timer = setTimeout(() => void poll(), intervalMs);
  };
  const ready = snapshotFiles(root).then((first) => {
    previous = first;
    if (!closed) timer = setTimeout(() => void poll(), intervalMs);
  });
  return {
    ready,
    close: () => {
      closed = true;
      clearTimeout(timer);
    },
  };
}

/**
 * Runs a lifecycle, then again after every change until the signal aborts.
 * A change during a run cuts it short: the current invoke finishes, a
 * normal Shutdown runs, then the new layer starts.
 */
export async function watchDev(options: DevOptions & { onReport: (report: EmulatorReport) => void }): Promise<void> {
  const outer = options.signal;
  // An object, not a let: the poller's callback sets it between the loop's reads.
  const pending = { change: false };
  let wake: (() => void) | undefined;
  let cycle: AbortController | undefined;

  // Watching starts before the first build, so a save during that build is not missed.
  const watcher = pollForChanges(watchRoot(options), (file) => {
    pending.change = true;
    options.onStatus?.(`change detected (${file}); restarting…`, 'progress');
    cycle?.abort();
    wake?.();
  });
  const stopped = new Promise<void>((resolve) => {
    if (outer?.aborted) resolve();
    outer?.addEventListener('abort', () => {
      cycle?.abort();
      wake?.();
      resolve();
    });
  });

  try {
    await watcher.ready;
    while (!outer?.aborted) {
      pending.change = false;
      cycle = new AbortController();
      let layer: PreparedLayer | undefined;
      try {
        layer = await prepareLayer(options, true);
        // A change during the build makes this layer stale already: build again rather than run it.
        if (!cycle.signal.aborted) {
          options.onReport(await runEmulator(emulatorOptions(options, layer, cycle.signal)));
        }
      } catch (error) {
        if (!(error instanceof CliError)) throw error;
        options.onStatus?.(
          `error: ${error.message}${error.hint === undefined ? '' : `\nhint: ${error.hint}`}`,
          'error',
        );
      } finally {
        await layer?.cleanup();
      }
      if (outer?.aborted) break;
      if (!pending.change) {
        options.onStatus?.('watching for changes (Ctrl-C to stop)…', 'progress');
        await Promise.race([new Promise<void>((resolve) => (wake = resolve)), stopped]);
        wake = undefined;
      }
    }
  } finally {
    watcher.close();
  }
}

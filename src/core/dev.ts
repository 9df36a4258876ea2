import { watch, type FSWatcher } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { hostArchitecture } from './architectures.js';
import { CliError, errorMessage } from './errors.js';
import { runEmulator } from './emulator/emulator.js';
import { extractLayerZip } from './emulator/layer-zip.js';
import type { EmulatorOptions, EmulatorReport } from './emulator/types.js';

/**
 * `ext dev`: find or build the layer, then run it in the emulator, once or
 * on every source change.
 */

export interface DevOptions extends Omit<EmulatorOptions, 'layerDirectory' | 'signal'> {
  /** The project to build when no layer is given. */
  projectDirectory: string;
  /** A layer directory (the folder that becomes /opt) or a layer zip. Default: build the project. */
  layer?: string | undefined;
  /** Build and status messages ("building…", "change detected…"). */
  onStatus?: ((message: string) => void) | undefined;
  /** Compiler output while building. */
  onBuildOutput?: ((chunk: string) => void) | undefined;
  signal?: AbortSignal | undefined;
}

interface PreparedLayer {
  directory: string;
  /** What to watch for changes. */
  watchRoot: string;
  cleanup(): Promise<void>;
}

async function prepareLayer(options: DevOptions): Promise<PreparedLayer> {
  if (options.layer !== undefined) {
    const layer = path.resolve(options.projectDirectory, options.layer);
    const stat = await fs.stat(layer).catch(() => undefined);
    if (stat === undefined) {
      throw new CliError(`--layer: ${layer} does not exist`, {
        hint: 'pass a layer directory (holding extensions/) or a layer zip',
      });
    }
    if (stat.isDirectory()) {
      const hasExtensions = await fs.stat(path.join(layer, 'extensions')).catch(() => undefined);
      if (hasExtensions === undefined) {
        options.onStatus?.(`warning: ${layer} has no extensions/ folder; Lambda would start nothing from it`);
      }
      return { directory: layer, watchRoot: layer, cleanup: async () => {} };
    }
    const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'ext-dev-layer-'));
    try {
      await extractLayerZip(layer, directory);
    } catch (error) {
      await fs.rm(directory, { recursive: true, force: true });
      throw new CliError(`--layer: cannot unpack ${layer}: ${errorMessage(error)}`, {
        hint: 'pass a zip made by `ext pack` or any layer zip, or a layer directory',
      });
    }
    return { directory, watchRoot: layer, cleanup: () => fs.rm(directory, { recursive: true, force: true }) };
  }
  const architecture = hostArchitecture();
  if (architecture === undefined) {
    throw new CliError(`ext dev cannot build for this machine (${process.arch}): Lambda runs x86_64 and arm64 only`, {
      hint: 'build on an x86_64 or arm64 machine, or pass --layer',
    });
  }
  options.onStatus?.(`building ${options.projectDirectory} for ${architecture}…`);
  const { build } = await import('./build.js');
  const result = await build({
    projectDirectory: options.projectDirectory,
    architectures: [architecture],
    outDirectory: path.join('dist', '.dev'),
    onOutput: options.onBuildOutput,
  });
  const layer = result.layers[0];
  if (layer === undefined) throw new CliError('the build produced no layer', { hint: 'run `ext build` to see why' });
  return { directory: layer.directory, watchRoot: options.projectDirectory, cleanup: async () => {} };
}

function emulatorOptions(
  options: DevOptions,
  layerDirectory: string,
  signal: AbortSignal | undefined,
): EmulatorOptions {
  const {
    projectDirectory: _project,
    layer: _layer,
    onStatus: _status,
    onBuildOutput: _output,
    signal: _signal,
    ...rest
  } = options;
  return { ...rest, layerDirectory, ...(signal === undefined ? {} : { signal }) };
}

/** Builds or unpacks the layer and runs one lifecycle in the emulator. */
export async function runDev(options: DevOptions): Promise<EmulatorReport> {
  const layer = await prepareLayer(options);
  try {
    return await runEmulator(emulatorOptions(options, layer.directory, options.signal));
  } finally {
    await layer.cleanup();
  }
}

const ignoredInWatch = /(^|[/\\])(dist|node_modules|\.git|build)([/\\]|$)/;

/**
 * Runs a lifecycle, then again after every change (debounced) until the
 * signal aborts. A change during a run cuts it short: the current invoke
 * finishes, a normal Shutdown runs, then the new layer starts.
 */
export async function watchDev(options: DevOptions & { onReport: (report: EmulatorReport) => void }): Promise<void> {
  const outer = options.signal;
  // An object, not a let: the watcher callback sets it between the loop's reads.
  const pending = { change: false };
  let wake: (() => void) | undefined;
  let cycle: AbortController | undefined;
  let debounce: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  let watchedRoot: string | undefined;

  const onChange = (file: string | null) => {
    if (file !== null && ignoredInWatch.test(file)) return;
    clearTimeout(debounce);
    debounce = setTimeout(() => {
      pending.change = true;
      options.onStatus?.(`change detected${file ? ` (${file})` : ''}; restarting…`);
      cycle?.abort();
      wake?.();
    }, 200);
  };
  const ensureWatcher = (root: string) => {
    if (watchedRoot === root) return;
    watcher?.close();
    watchedRoot = root;
    watcher = watch(root, { recursive: true }, (_event, file) => onChange(file === null ? null : String(file)));
  };
  const stopped = new Promise<void>((resolve) => {
    if (outer?.aborted) resolve();
    outer?.addEventListener('abort', () => {
      cycle?.abort();
      wake?.();
      resolve();
    });
  });

  try {
    while (!outer?.aborted) {
      pending.change = false;
      cycle = new AbortController();
      let layer: PreparedLayer | undefined;
      try {
        layer = await prepareLayer(options);
        ensureWatcher(layer.watchRoot);
        options.onReport(await runEmulator(emulatorOptions(options, layer.directory, cycle.signal)));
      } catch (error) {
        if (!(error instanceof CliError)) throw error;
        options.onStatus?.(`error: ${error.message}`);
        ensureWatcher(
          options.layer === undefined
            ? options.projectDirectory
            : path.resolve(options.projectDirectory, options.layer),
        );
      } finally {
        await layer?.cleanup();
      }
      if (outer?.aborted) break;
      if (!pending.change) {
        options.onStatus?.('watching for changes (Ctrl-C to stop)…');
        await Promise.race([new Promise<void>((resolve) => (wake = resolve)), stopped]);
        wake = undefined;
      }
    }
  } finally {
    clearTimeout(debounce);
    watcher?.close();
  }
}

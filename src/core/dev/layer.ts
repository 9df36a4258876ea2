import { rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { hostArchitecture, type Architecture } from '../layer/architectures.js';
import type { ExtensionConfig } from '../config.js';
import { CliError, errorMessage } from '../errors.js';
import { prepareCpuEmulation } from '../emulator/cpu-emulation/index.js';
import { extractLayerZip } from '../layer/unpack.js';
import { extensionFilesIn, listExtensionFiles, noExtensionsError, type ExtensionFile } from '../layer/extensions.js';
import { cleanupOnExit } from '../emulator/processes/supervisor.js';
import type { NodeRuntime } from '../emulator/types.js';
import { devArchitecture, provideDevNode } from './node.js';
import type { DevOptions, PreparedLayer } from './options.js';

/**
 * The layer `ext dev` runs: a --layer folder or zip (unpacked), or the
 * project built for the function's architecture; then set up to run on
 * this machine.
 */

/** ext dev's own build, beside the user's dist/<arch>. */
const devOutDirectory = path.join('dist', '.dev');

/** The build's hints say "run ext build again"; inside `ext dev` the way out is different. */
function devBuildError(error: CliError, watching: boolean): CliError {
  const retry = watching
    ? 'ext dev --watch rebuilds on the next change'
    : 'then rerun ext dev (or use ext dev --watch, which rebuilds on every change)';
  const hint = error.hint?.replace(/,? then run ext build again\.?$/, watching ? `; ${retry}` : `, ${retry}`);
  return new CliError(error.message, { code: error.code, exitCode: error.exitCode, hint: hint ?? retry, cause: error });
}

/** The layer, unpacked or built, then set up to run on this machine (under qemu when it is foreign). */
export async function prepareLayer(
  options: DevOptions,
  watching: boolean,
  nodeForFunction = false,
): Promise<PreparedLayer> {
  const layer = await obtainLayer(options, watching, nodeForFunction);
  try {
    const prepared = await prepareCpuEmulation({
      layerDirectory: layer.directory,
      ownsLayer: layer.owned,
      shownAs: layer.shownAs,
      architecture: options.architecture ?? layer.architecture,
      preference: options.emulation,
    });
    if (prepared.warning !== undefined) options.onStatus?.(`warning: ${prepared.warning}`, 'warning');
    const { extensionFiles } = layer;
    return {
      directory: prepared.layerDirectory,
      extensionFiles:
        extensionFiles === undefined ? undefined : extensionFilesIn(prepared.layerDirectory, extensionFiles),
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

/** `nodeForFunction`: --node runs a nodejs function too, so it applies even where the layer runs no node. */
async function obtainLayer(options: DevOptions, watching: boolean, nodeForFunction: boolean): Promise<ObtainedLayer> {
  return options.layer === undefined
    ? builtLayer(options, watching, nodeForFunction)
    : givenLayer(options, options.layer, nodeForFunction);
}

/** A --layer: a folder as it is, or a zip unpacked into a temp folder of ext dev's own. */
async function givenLayer(options: DevOptions, given: string, nodeForFunction: boolean): Promise<ObtainedLayer> {
  if (options.nodePath !== undefined && !nodeForFunction) {
    throw new CliError('--node: applies when ext dev builds the project; a --layer runs on the node on PATH', {
      code: 'E_DEV_NODE_NOT_APPLICABLE',
      exitCode: 2,
      hint: 'drop --layer to build and run the project on --node, or drop --node',
    });
  }
  const layer = path.resolve(options.projectDirectory, given);
  const stat = await fs.stat(layer).catch(() => undefined);
  if (stat === undefined) {
    throw new CliError(`--layer: ${layer} does not exist`, {
      code: 'E_DEV_LAYER_MISSING',
      hint: 'pass a layer directory (holding extensions/) or a layer zip',
    });
  }
  if (stat.isDirectory()) {
    const extensionFiles = await requireExtensions(layer, layer);
    return { directory: layer, extensionFiles, owned: false, shownAs: layer, cleanup: async () => {} };
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
    const extensionFiles = await requireExtensions(directory, layer);
    return { directory, extensionFiles, owned: true, shownAs: layer, cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

type Built = Awaited<ReturnType<typeof import('../build/index.js').build>>;

/**
 * The node that runs a built TypeScript layer: the one a standalone layer bundles, else the
 * runtime's, written into ext dev's build as bin/node. Undefined for a Go layer.
 */
async function buildNode(
  options: DevOptions,
  config: ExtensionConfig,
  architecture: Architecture,
  standalone: Built['standalone'],
  layerDirectory: string,
): Promise<NodeRuntime | undefined> {
  const bundled = standalone?.nodes.find((entry) => entry.architecture === architecture);
  if (standalone !== undefined && bundled !== undefined) {
    return {
      version: standalone.nodeVersion,
      path: path.join(layerDirectory, standalone.nodePath),
      architecture,
      source: 'bundled',
      requested: standalone.requestedNodeVersion,
    };
  }
  const node = await provideDevNode({
    layerDirectory,
    config,
    architecture,
    nodePath: options.nodePath,
    nodeCacheDirectory: options.nodeCacheDirectory,
    signal: options.signal,
    onStatus: (message) => options.onStatus?.(message, 'progress'),
  });
  if (node !== undefined) {
    // bin/node is ext dev's own write into its build: recorded, so that the next build still knows the folder as ours.
    const { OutputDirectory } = await import('../output-ownership.js');
    const output = await OutputDirectory.open(options.projectDirectory, devOutDirectory);
    await output.record({ entry: architecture, from: layerDirectory });
  }
  return node;
}

/** The project, built by ext dev into dist/.dev for the function's architecture. */
async function builtLayer(options: DevOptions, watching: boolean, nodeForFunction: boolean): Promise<ObtainedLayer> {
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
  const { build } = await import('../build/index.js');
  let result: Awaited<ReturnType<typeof build>>;
  let node: NodeRuntime | undefined;
  let layer: Awaited<ReturnType<typeof build>>['layers'][number] | undefined;
  try {
    result = await build({
      projectDirectory: options.projectDirectory,
      // Read and checked above: one read of lambda-extension.json per build, as pack does.
      config,
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
    node = await buildNode(options, config, architecture, result.standalone, layer.directory);
  } catch (error) {
    throw error instanceof CliError ? devBuildError(error, watching) : error;
  }
  if (node === undefined && options.nodePath !== undefined && !nodeForFunction) {
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
 * gave, not the temp folder a zip was unpacked to. The listing is passed on:
 * the emulator does not list the folder again.
 */
async function requireExtensions(directory: string, shownAs: string): Promise<ExtensionFile[]> {
  const files = await listExtensionFiles(directory);
  if (files.length === 0) throw noExtensionsError(`--layer: ${shownAs}`);
  return files;
}

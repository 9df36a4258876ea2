/*
 * ext build: turns a project into `<out>/<arch>/`, the tree Lambda unpacks to /opt. The language parts
 * live beside this file (go.ts, typescript.ts, launcher.ts); this one runs them per architecture.
 */
import { chmod, mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Architecture } from '../layer/index.js';
import {
  applyConfigOverrides,
  readConfig,
  standaloneNodeVersion,
  type ConfigOverrides,
  type ExtensionConfig,
} from '../config.js';
import { CancelledError, CliError, errorMessage } from '../errors.js';
import { listFiles, replaceDirectory, temporarySibling } from '../fs-utils.js';
import { formatBytes } from '../format.js';
import { OutputDirectory } from '../output-ownership.js';
import type { BundledNode } from '../standalone/index.js';
// standalone/layout and runtimes, not the index: build loads with every ext command, and the index loads npm,
// tar and hashing (it is imported when a standalone layer is built).
import { bundledNodePath } from '../standalone/layout.js';
import { standaloneCompatibilityNote } from '../standalone/runtimes.js';
import { assertGoAvailable, goLayerProducer, makeGoTemporaryDirectory } from './go.js';
import { throwIfCancelled, writeLayerFiles, type LayerFile, type LayerProducer } from './layer-files.js';
import { typeScriptLayerProducer } from './typescript.js';
import { readWrapper } from './wrapper.js';

export { typeScriptBundleOptions, type BundleTarget } from './bundle-options.js';
export { goBuildArguments, goBuildEnvironment, goEnvironment } from './go.js';
export { launcherScript } from './launcher.js';
export { wrapperLayerPath } from './wrapper.js';
export {
  projectTypeScript,
  typeCheckDisabledByEnvironment,
  typeCheckVariable,
  type TypeCheckOptions,
  type TypeCheckResult,
} from './typecheck.js';

export interface BuildOptions extends ConfigOverrides {
  projectDirectory: string;
  /**
   * The project's lambda-extension.json, already read and with its overrides applied (as `ext pack`
   * holds it): used as given, so a command reads and checks the file once. Absent, build reads it.
   */
  config?: ExtensionConfig | undefined;
  /** Defaults to the config's list. */
  architectures?: Architecture[] | undefined;
  /** Relative to the project; default `dist`. */
  outDirectory?: string | undefined;
  /** The Go command; default `go` on PATH. */
  goCommand?: string | undefined;
  onProgress?: ((event: BuildProgress) => void) | undefined;
  /** Compiler output (Go's stderr, esbuild's messages), as it arrives. */
  onOutput?: ((chunk: string) => void) | undefined;
  /** Aborting kills the compilers, removes every temp path and rejects with CancelledError; finished layers stay. */
  signal?: AbortSignal | undefined;
  /** Standalone layers: where node binaries are cached; default the CLI's cache folder (see standalone/node-cache.ts). */
  nodeCacheDirectory?: string | undefined;
  /**
   * TypeScript projects with a tsconfig.json: run the project's tsc beside esbuild, and fail on a type
   * error before any layer is replaced (see typecheck.ts). Default true; false is --no-typecheck.
   */
  typecheck?: boolean | undefined;
}

export type BuildProgress =
  | { phase: 'start'; architecture: Architecture }
  | { phase: 'done'; architecture: Architecture; durationMs: number }
  | { phase: 'failed'; architecture: Architecture; durationMs: number }
  | { phase: 'cancelled'; architecture: Architecture; durationMs: number };

export interface BuiltFile {
  /** Relative to the layer directory, with forward slashes. */
  path: string;
  bytes: number;
  mode: number;
}

export interface BuiltLayer {
  architecture: Architecture;
  /** Absolute path of `<out>/<arch>`: the folder that becomes /opt. */
  directory: string;
  files: BuiltFile[];
}

export interface BuildResult {
  name: string;
  language: ExtensionConfig['language'];
  version: string;
  /** Absolute. */
  outDirectory: string;
  layers: BuiltLayer[];
  /** Things the user should know, such as the node dependency of TypeScript layers. */
  notes: string[];
  /** Set for a standalone TypeScript layer, which carries its own node. */
  standalone?: StandaloneBuild;
  /** TypeScript: whether tsc checked the types (false with --no-typecheck or without a tsconfig.json). */
  typeChecked?: boolean;
}

export interface StandaloneBuild {
  /** As lambda-extension.json or --node-version gave it ("24"). */
  requestedNodeVersion: string;
  /** The exact version bundled ("24.22.3"). */
  nodeVersion: string;
  /** Relative to the layer directory (/opt). */
  nodePath: string;
  nodes: BundledNode[];
}

async function describeFiles(directory: string): Promise<BuiltFile[]> {
  return Promise.all(
    (await listFiles(directory)).map(async (file) => {
      const info = await stat(path.join(directory, file));
      return { path: file, bytes: info.size, mode: info.mode & 0o777 };
    }),
  );
}

async function buildOne(
  produce: LayerProducer,
  options: BuildOptions,
  architecture: Architecture,
  output: OutputDirectory,
  checked: Promise<unknown>,
  extraFiles: readonly LayerFile[],
): Promise<BuiltLayer> {
  const outDirectory = output.path;
  const started = performance.now();
  options.onProgress?.({ phase: 'start', architecture });
  let staging: string | undefined;
  try {
    staging = temporarySibling(path.join(outDirectory, architecture), 'build');
    await mkdir(staging);
    await produce(staging, architecture);
    await writeLayerFiles(staging, extraFiles);
    // A type error fails the build like a compile error: the last good layer stays.
    await checked;
    if (options.signal?.aborted === true) throw new CancelledError();
    await chmod(staging, 0o755);
    const directory = path.join(outDirectory, architecture);
    await output.record({ entry: architecture, from: staging });
    await replaceDirectory(staging, directory);
    options.onProgress?.({ phase: 'done', architecture, durationMs: performance.now() - started });
    return { architecture, directory, files: await describeFiles(directory) };
  } catch (error) {
    // Ctrl-C is no failure of the build: say so, the way the command's last line does.
    const cancelled = error instanceof CancelledError || options.signal?.aborted === true;
    options.onProgress?.({
      phase: cancelled ? 'cancelled' : 'failed',
      architecture,
      durationMs: performance.now() - started,
    });
    if (staging !== undefined) await rm(staging, { recursive: true, force: true });
    if (error instanceof CliError || (error as NodeJS.ErrnoException).code === undefined) throw error;
    // A filesystem failure in --out (full disk, a folder removed under us): one line, not a stack trace.
    throw new CliError(`writing the ${architecture} layer into ${outDirectory} failed: ${errorMessage(error)}`, {
      code: 'E_BUILD_WRITE_FAILED',
      hint: 'check that --out is a writable folder with free space, and that no other ext build writes to it',
    });
  }
}

/**
 * Builds `<out>/<arch>/` for each architecture: the exact tree that Lambda
 * unpacks to /opt. Architectures build concurrently; each output directory is
 * replaced only when its build succeeded, so a failure keeps the last good one.
 */
export async function build(options: BuildOptions): Promise<BuildResult> {
  const projectDirectory = path.resolve(options.projectDirectory);
  const config = options.config ?? applyConfigOverrides(await readConfig(projectDirectory), options);
  const architectures = options.architectures ?? config.architectures;
  const version = config.version;
  throwIfCancelled(options.signal);
  if (config.language === 'go') {
    await assertGoAvailable(options.goCommand ?? 'go');
  }
  const output = await OutputDirectory.open(projectDirectory, options.outDirectory ?? 'dist');
  const outDirectory = output.path;
  // Before compiling, so that a folder we may not replace fails at once, not after a long build.
  for (const architecture of architectures) await output.assertReplaceable(architecture, 'layer');
  // Files the config adds at the layer's root, whatever the language: read (and refused) before compiling too.
  const wrapper = await readWrapper(config, projectDirectory);
  const extraFiles = wrapper === undefined ? [] : [wrapper];
  // Both architectures usually fail with the same compiler messages: show each line once.
  const shownLines = new Set<string>();
  const onOutput = (chunk: string) => {
    const fresh = chunk.split(/(?<=\n)/).filter((line) => !shownLines.has(line));
    fresh.forEach((line) => shownLines.add(line));
    if (fresh.length > 0) options.onOutput?.(fresh.join(''));
  };
  const buildOptions = { ...options, onOutput };
  const temporaryDirectories: string[] = [];
  const notes: string[] = [];
  const requestedNodeVersion = config.language === 'ts' ? standaloneNodeVersion(config) : undefined;
  let standalone: StandaloneBuild | undefined;
  let settled: PromiseSettledResult<BuiltLayer>[];
  // Started first, so that tsc (seconds) runs while esbuild bundles (milliseconds) and node is fetched.
  const checked: Promise<{ checked: boolean }> =
    config.language === 'ts' && options.typecheck !== false
      ? import('./typecheck.js').then(({ typeCheck }) =>
          typeCheck({ projectDirectory, onOutput, signal: options.signal }),
        )
      : Promise.resolve({ checked: false });
  // Awaited by each architecture, and below; this keeps a failure that comes first from counting as unhandled.
  checked.catch(() => {});
  try {
    let produce: LayerProducer;
    if (config.language === 'ts') {
      let addNode: ((staging: string, architecture: Architecture) => Promise<void>) | undefined;
      if (requestedNodeVersion !== undefined) {
        const cacheOptions = {
          cacheDirectory: options.nodeCacheDirectory,
          signal: options.signal,
          onNote: (note: string) => notes.push(note),
          onFetch: (spec: string) => onOutput(`fetching ${spec} through npm (cached for later builds)\n`),
        };
        const { installBundledNode, resolveNodeVersion } = await import('../standalone/index.js');
        const resolved = await resolveNodeVersion(requestedNodeVersion, cacheOptions);
        const current: StandaloneBuild = {
          requestedNodeVersion,
          nodeVersion: resolved.version,
          nodePath: bundledNodePath(config.name),
          nodes: [],
        };
        standalone = current;
        addNode = async (staging, architecture) => {
          current.nodes.push(
            await installBundledNode(staging, config.name, resolved.version, architecture, cacheOptions),
          );
        };
      }
      produce = typeScriptLayerProducer(config, buildOptions, version, outDirectory, addNode);
    } else {
      const goTemporaryDirectory = await makeGoTemporaryDirectory();
      temporaryDirectories.push(goTemporaryDirectory);
      produce = goLayerProducer(config, buildOptions, version, goTemporaryDirectory);
    }
    settled = await Promise.allSettled(
      architectures.map((architecture) => buildOne(produce, buildOptions, architecture, output, checked, extraFiles)),
    );
  } finally {
    await Promise.all(temporaryDirectories.map((directory) => rm(directory, { recursive: true, force: true })));
  }
  throwIfCancelled(options.signal);
  // The type check's failure is the one to report: a bundling error is usually one of its errors too.
  const { checked: typeChecked } = await checked;
  const failure = settled.find((outcome) => outcome.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
  const layers = settled.map((outcome) => (outcome as PromiseFulfilledResult<BuiltLayer>).value);
  if (standalone !== undefined) {
    standalone.nodes.sort((a, b) => architectures.indexOf(a.architecture) - architectures.indexOf(b.architecture));
    notes.push(...standaloneNotes(standalone));
  } else if (config.language === 'ts') {
    notes.push('this layer runs node from PATH: attach it to functions on a Node.js runtime (nodejs22.x or later)');
  }
  return {
    name: config.name,
    language: config.language,
    version,
    outDirectory,
    layers,
    notes,
    ...(standalone === undefined ? {} : { standalone }),
    ...(config.language === 'ts' ? { typeChecked } : {}),
  };
}

/** What a standalone build tells the user: the node it bundled, how it was slimmed, and where it runs. */
export function standaloneNotes(standalone: StandaloneBuild): string[] {
  const lines = standalone.nodes.map((node) =>
    node.strippedWith === undefined
      ? `${node.architecture}: bundled node ${node.version} unstripped (${formatBytes(node.bytes)}): no stripper for ${node.architecture} on PATH; install llvm (llvm-strip) to save about ${formatBytes(Math.round(node.bytes * 0.14))}`
      : `${node.architecture}: bundled node ${node.version}, stripped with ${node.strippedWith}: ${formatBytes(node.originalBytes)} -> ${formatBytes(node.bytes)}`,
  );
  return [...lines, `standalone layer: ${standaloneCompatibilityNote}`];
}

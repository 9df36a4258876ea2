import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { goArchitecture, type Architecture } from './layer/architectures.js';
import { typeScriptBundleOptions } from './bundle-options.js';
import {
  applyConfigOverrides,
  readConfig,
  standaloneNodeVersion,
  type ConfigOverrides,
  type ExtensionConfig,
} from './config.js';
import { CancelledError, CliError, errorMessage } from './errors.js';
import { isErrorCode, listFiles, replaceDirectory, temporarySibling } from './fs-utils.js';
import { formatBytes } from './format.js';
import { OutputDirectory } from './output-ownership.js';
import { loadPeerDependency } from './peer-dependencies.js';
import type { BundledNode } from './standalone/index.js';
import { bundledNodePath } from './standalone/layout.js';
import { standaloneCompatibilityNote } from './standalone/runtimes.js';

export interface BuildOptions extends ConfigOverrides {
  projectDirectory: string;
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

/** The exact flags production Go extensions use, plus -buildvcs=false and -buildid= for byte-reproducible output. */
export function goBuildArguments(version: string, output: string, entry: string): string[] {
  return [
    'build',
    '-trimpath',
    '-buildvcs=false',
    '-ldflags',
    `-s -w -buildid= -X main.version=${version}`,
    '-o',
    output,
    entry.startsWith('.') || path.isAbsolute(entry) ? entry : `./${entry}`,
  ];
}

/**
 * go as ext build runs it: with GOTOOLCHAIN=local unless the user's environment sets GOTOOLCHAIN, so that
 * a project's go.mod (`go` or `toolchain` lines) never makes the build download and run another toolchain.
 */
export function goEnvironment(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return base['GOTOOLCHAIN'] === undefined || base['GOTOOLCHAIN'] === ''
    ? { ...base, GOTOOLCHAIN: 'local' }
    : { ...base };
}

export function goBuildEnvironment(
  architecture: Architecture,
  base: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  return { ...goEnvironment(base), CGO_ENABLED: '0', GOOS: 'linux', GOARCH: goArchitecture(architecture) };
}

/** go's refusal when go.mod asks for a newer go than the local one and switching is off. */
const toolchainRefusal = /requires go >= (\S+) \(running go (\S+); GOTOOLCHAIN=local\)/;

/**
 * The function's NODE_OPTIONS are meant for its runtime, and an extension
 * inherits them: a `--require` preload (Sentry's and other APM layers') runs
 * inside the extension, where it may throw (Lambda withholds LAMBDA_TASK_ROOT
 * from extensions), and an unresolvable one stops node before it registers,
 * failing the function's Init. The extension's own flags are on its command line.
 */
const clearNodeOptions = [
  "# The function's NODE_OPTIONS (an APM's --require preload) are for its runtime, not this extension.",
  'unset NODE_OPTIONS',
];

/**
 * The POSIX sh launcher Lambda starts for a TypeScript extension. It finds
 * the bundle relative to itself, so the same layer runs from /opt and from
 * any other folder (such as ext dev's). A plain layer runs the node on PATH
 * and fails with a plain message when the function's runtime has none; a
 * standalone one runs the node shipped beside the bundle and never PATH's.
 */
export function launcherScript(
  name: string,
  sourcemap: boolean,
  nodeOptions: readonly string[] = [],
  standalone = false,
): string {
  const flags = [...(sourcemap ? ['--enable-source-maps'] : []), ...nodeOptions].map((flag) => `${flag} `).join('');
  // Only shell built-ins: a function's PATH may lack even basename and dirname.
  if (standalone) {
    return [
      '#!/bin/sh',
      `# Lambda starts this file as /opt/extensions/${name}. It runs the bundled`,
      `# extension in ../${name}/ with the node binary shipped in ../${name}/bin/,`,
      "# never the runtime's: the layer works beside any Amazon Linux 2023 runtime.",
      'set -e',
      ...clearNodeOptions,
      'LAMBDA_EXTENSION_NAME=${0##*/}',
      'export LAMBDA_EXTENSION_NAME',
      `bundled_node="\${0%/*}/../${bundledNodePath(name)}"`,
      // Asking for the version costs a few milliseconds and turns a loader failure (Amazon Linux 2's
      // glibc 2.26 and older libstdc++) into one line that says what to do, which exec alone cannot.
      'if ! "$bundled_node" --version >/dev/null 2>&1; then',
      `  problem=$("$bundled_node" --version 2>&1 >/dev/null | { IFS= read -r first || true; printf '%s' "$first"; }) || true`,
      `  echo "$LAMBDA_EXTENSION_NAME: the bundled node cannot start here (\${problem:-it exits with an error}); it needs glibc 2.28 and libstdc++, so use an Amazon Linux 2023 runtime (provided.al2023, nodejs20.x+, python3.12+, java21+, dotnet8+, ruby3.3+)" >&2`,
      '  exit 127',
      'fi',
      `exec "$bundled_node" ${flags}"\${0%/*}/../${name}/index.mjs" "$@"`,
      '',
    ].join('\n');
  }
  return [
    '#!/bin/sh',
    `# Lambda starts this file as /opt/extensions/${name}. It runs the bundled`,
    `# extension in ../${name}/ with the node on PATH: attach the layer to`,
    '# functions on a Node.js managed runtime, which provides node.',
    'set -e',
    ...clearNodeOptions,
    'LAMBDA_EXTENSION_NAME=${0##*/}',
    'export LAMBDA_EXTENSION_NAME',
    'if ! command -v node >/dev/null 2>&1; then',
    `  echo "$LAMBDA_EXTENSION_NAME: node is not on PATH; this extension needs a Node.js runtime (nodejs22.x or later)" >&2`,
    '  exit 127',
    'fi',
    `exec node ${flags}"\${0%/*}/../${name}/index.mjs" "$@"`,
    '',
  ].join('\n');
}

interface GoRun {
  code: number | null;
  /** Set when go died of a signal (ours on cancel, or a Ctrl-C sent to it directly). */
  signal: NodeJS.Signals | null;
}

/** Runs go, passing each complete line of its output on as it arrives. */
function runGoBuild(
  goCommand: string,
  args: string[],
  options: {
    cwd: string;
    env: NodeJS.ProcessEnv;
    onLine?: ((line: string) => void) | undefined;
    signal?: AbortSignal | undefined;
  },
): Promise<GoRun> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted === true) {
      resolve({ code: null, signal: 'SIGKILL' });
      return;
    }
    // In its own process group, so that cancelling kills go together with every compile and link
    // it started, and so that a Ctrl-C reaches us, who clean up, rather than only the compiler.
    const child = spawn(goCommand, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const kill = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    options.signal?.addEventListener('abort', kill, { once: true });
    for (const stream of [child.stdout, child.stderr]) {
      let pending = '';
      stream.on('data', (chunk: Buffer) => {
        const lines = (pending + chunk.toString()).split('\n');
        pending = lines.pop()!;
        lines.forEach((line) => options.onLine?.(`${line}\n`));
      });
      stream.on('end', () => pending !== '' && options.onLine?.(`${pending}\n`));
    }
    child.on('error', (error) => {
      options.signal?.removeEventListener('abort', kill);
      reject(error);
    });
    child.on('close', (code, signal) => {
      options.signal?.removeEventListener('abort', kill);
      resolve({ code, signal });
    });
  });
}

async function assertGoAvailable(goCommand: string): Promise<void> {
  try {
    await runGoBuild(goCommand, ['version'], { cwd: process.cwd(), env: goEnvironment() });
  } catch (error) {
    if (isErrorCode(error, 'ENOENT')) {
      throw new CliError(`go is not on PATH (looked for "${goCommand}")`, {
        hint: 'install Go 1.21 or later from https://go.dev/dl/ or your package manager, then run ext build again',
      });
    }
    throw new CliError(`cannot run ${goCommand}: ${errorMessage(error)}`);
  }
}

async function describeFiles(directory: string): Promise<BuiltFile[]> {
  return Promise.all(
    (await listFiles(directory)).map(async (file) => {
      const info = await stat(path.join(directory, file));
      return { path: file, bytes: info.size, mode: info.mode & 0o777 };
    }),
  );
}

/** A file of a TypeScript layer, held in memory until each architecture's staging folder gets a copy. */
interface LayerFile {
  /** Relative to the layer directory. */
  path: string;
  contents: Uint8Array | string;
  /** Exact, whatever umask says: 0o755 for the launcher and the bundle (Lambda runs one, node the other). */
  mode: number;
}

/**
 * The bundle and its launcher, in memory: the bundle does not depend on the
 * architecture, and writing each architecture's copy straight from memory is
 * cheaper than writing once and copying (fs.cp stats its way through).
 * `outDirectory` only anchors the paths esbuild writes into a source map.
 */
async function bundleTypeScript(
  config: ExtensionConfig,
  projectDirectory: string,
  outDirectory: string,
  version: string,
  sourcemap: boolean,
  onOutput: ((chunk: string) => void) | undefined,
  signal: AbortSignal | undefined,
): Promise<LayerFile[]> {
  // require(), not import(): esbuild is CommonJS, and importing it makes Node scan its whole
  // source for export names first (about 15 ms, more than the bundle of a small extension).
  const esbuild = await loadPeerDependency(
    'esbuild',
    'bundling a TypeScript extension',
    () => createRequire(import.meta.url)('esbuild') as typeof import('esbuild'),
  );
  // At the depth of <out>/<arch>/<name>/index.mjs, so that a source map's relative paths hold in every copy.
  const layerDirectory = path.join(outDirectory, 'bundle');
  const options = {
    ...typeScriptBundleOptions({
      entry: path.resolve(projectDirectory, config.entry),
      outfile: path.join(layerDirectory, config.name, 'index.mjs'),
      projectDirectory,
      version,
      sourcemap,
    }),
    write: false,
  } as const;
  // esbuild checks for cancellation only between files, so one large file would keep it busy for
  // seconds: on abort, stop its service, which ends the build at once with nothing more written,
  // and stop waiting for it (a stopped service never answers).
  let cancel = (): void => {};
  const cancelled = new Promise<never>((_, reject) => {
    cancel = () => {
      void esbuild.stop();
      reject(new CancelledError());
    };
  });
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    // Aborted while esbuild was loading: the listener came too late to hear it.
    throwIfCancelled(signal);
    // One build, not a context: a context costs a round trip to esbuild's service to set up and one to dispose.
    const result = await Promise.race([esbuild.build(options), cancelled]);
    return [
      ...result.outputFiles.map((file) => ({
        path: path.relative(layerDirectory, file.path),
        contents: file.contents,
        mode: file.path.endsWith('.map') ? 0o644 : 0o755,
      })),
      {
        path: `extensions/${config.name}`,
        contents: launcherScript(config.name, sourcemap, config.nodeOptions, config.standalone === true),
        mode: 0o755,
      },
    ];
  } catch (error) {
    throwIfCancelled(signal);
    const failure = error as { errors?: import('esbuild').Message[] };
    if (failure.errors !== undefined && failure.errors.length > 0) {
      const formatted = await esbuild.formatMessages(failure.errors, { kind: 'error', color: false });
      onOutput?.(formatted.join(''));
      const first = failure.errors[0]!;
      const where = first.location === null ? '' : `${first.location.file}:${first.location.line}: `;
      throw new CliError(`bundling ${config.entry} failed: ${where}${first.text}`, {
        hint: 'fix the error above, then run ext build again',
      });
    }
    throw error;
  } finally {
    signal?.removeEventListener('abort', cancel);
  }
}

async function writeLayerFiles(staging: string, files: readonly LayerFile[]): Promise<void> {
  for (const file of files) {
    const target = path.join(staging, file.path);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, file.contents, { mode: file.mode });
    await chmod(target, file.mode);
  }
}

/** A function, not an inline check, so that the compiler does not take `aborted` for a constant. */
function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new CancelledError();
}

/** Fills a staging directory with one architecture's layer tree. */
type LayerProducer = (staging: string, architecture: Architecture) => Promise<void>;

function goLayerProducer(
  config: ExtensionConfig,
  options: BuildOptions,
  version: string,
  goTemporaryDirectory: string,
): LayerProducer {
  return async (staging, architecture) => {
    const output = path.join(staging, 'extensions', config.name);
    let toolchain: RegExpExecArray | undefined;
    const result = await runGoBuild(options.goCommand ?? 'go', goBuildArguments(version, output, config.entry), {
      cwd: path.resolve(options.projectDirectory),
      // go's work directories go into a folder of ours, which is removed however the build ends.
      env: { ...goBuildEnvironment(architecture), GOTMPDIR: goTemporaryDirectory },
      onLine: (line) => {
        toolchain ??= toolchainRefusal.exec(line) ?? undefined;
        options.onOutput?.(line);
      },
      signal: options.signal,
    });
    // Killed by our cancel, or by a Ctrl-C sent to the whole process group: cancelled, not a compiler failure.
    if (options.signal?.aborted === true || ['SIGINT', 'SIGTERM', 'SIGHUP'].includes(result.signal ?? ''))
      throw new CancelledError();
    if (result.code !== 0 && toolchain !== undefined) {
      throw new CliError(
        `go.mod asks for go ${toolchain[1]!}, newer than the go on PATH (${toolchain[2]!}); ext build does not download Go toolchains`,
        { hint: `install go ${toolchain[1]!} or later, or let go fetch it for one run: GOTOOLCHAIN=auto ext build` },
      );
    }
    if (result.code !== 0) {
      throw new CliError(`go build failed for ${architecture} (exit code ${result.code ?? 'signal'})`, {
        hint: "fix the compiler's errors above, then run ext build again",
      });
    }
    await chmod(output, 0o755);
  };
}

/** The bundle does not depend on the architecture: make it once and give each architecture a copy. */
function typeScriptLayerProducer(
  config: ExtensionConfig,
  options: BuildOptions,
  version: string,
  outDirectory: string,
  addNode?: (staging: string, architecture: Architecture) => Promise<void>,
): LayerProducer {
  let bundled: Promise<LayerFile[]> | undefined;
  return async (staging, architecture) => {
    bundled ??= bundleTypeScript(
      config,
      path.resolve(options.projectDirectory),
      outDirectory,
      version,
      config.sourcemap ?? false,
      options.onOutput,
      options.signal,
    );
    const files = await bundled;
    if (options.signal?.aborted === true) throw new CancelledError();
    await writeLayerFiles(staging, files);
    if (addNode !== undefined) await addNode(staging, architecture);
  };
}

async function buildOne(
  produce: LayerProducer,
  options: BuildOptions,
  architecture: Architecture,
  output: OutputDirectory,
  checked: Promise<unknown>,
): Promise<BuiltLayer> {
  const outDirectory = output.path;
  const started = performance.now();
  options.onProgress?.({ phase: 'start', architecture });
  let staging: string | undefined;
  try {
    staging = temporarySibling(path.join(outDirectory, architecture), 'build');
    await mkdir(staging);
    await produce(staging, architecture);
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
  const config = applyConfigOverrides(await readConfig(projectDirectory), options);
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
        const { installBundledNode, resolveNodeVersion } = await import('./standalone/index.js');
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
      const goTemporaryDirectory = await mkdtemp(path.join(os.tmpdir(), 'ext-go-build-')).catch((error: unknown) => {
        throw new CliError(`cannot create a temporary folder for go in ${os.tmpdir()}: ${errorMessage(error)}`, {
          hint: 'set TMPDIR to a writable folder',
        });
      });
      temporaryDirectories.push(goTemporaryDirectory);
      produce = goLayerProducer(config, buildOptions, version, goTemporaryDirectory);
    }
    settled = await Promise.allSettled(
      architectures.map((architecture) => buildOne(produce, buildOptions, architecture, output, checked)),
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

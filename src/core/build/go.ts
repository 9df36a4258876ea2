/* ext build for Go: one static binary per architecture, cross-compiled by the go on PATH. */
import { spawn } from 'node:child_process';
import { chmod, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
// layer/architectures, not the index: build loads with every ext command, and the index brings the zip reader.
import { goArchitecture, type Architecture } from '../layer/architectures.js';
import type { ExtensionConfig } from '../config.js';
import { CancelledError, CliError, errorMessage } from '../errors.js';
import { isErrorCode } from '../fs-utils.js';
import type { LayerProducer, ProducerOptions } from './layer-files.js';

/**
 * The exact flags production Go extensions use, plus -buildvcs=false and -buildid= for byte-reproducible output.
 * `flush` (telemetry.flush in lambda-extension.json, already checked) becomes the telemetry template's
 * main.defaultFlush; the linker ignores -X for a variable a program does not have.
 */
export function goBuildArguments(version: string, output: string, entry: string, flush?: string): string[] {
  return [
    'build',
    '-trimpath',
    '-buildvcs=false',
    '-ldflags',
    `-s -w -buildid= -X main.version=${version}${flush === undefined ? '' : ` -X main.defaultFlush=${flush}`}`,
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

export async function assertGoAvailable(goCommand: string): Promise<void> {
  try {
    await runGoBuild(goCommand, ['version'], { cwd: process.cwd(), env: goEnvironment() });
  } catch (error) {
    if (isErrorCode(error, 'ENOENT')) {
      throw new CliError(`go is not on PATH (looked for "${goCommand}")`, {
        code: 'E_BUILD_GO_MISSING',
        hint: 'install Go 1.21 or later from https://go.dev/dl/ or your package manager, then run ext build again',
      });
    }
    throw new CliError(`cannot run ${goCommand}: ${errorMessage(error)}`, { code: 'E_BUILD_TOOL_UNRUNNABLE' });
  }
}

/** A folder for go's work directories, removed by the caller however the build ends. */
export async function makeGoTemporaryDirectory(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'ext-go-build-')).catch((error: unknown) => {
    throw new CliError(`cannot create a temporary folder for go in ${os.tmpdir()}: ${errorMessage(error)}`, {
      code: 'E_BUILD_TEMPORARY_FOLDER',
      hint: 'set TMPDIR to a writable folder',
    });
  });
}

export function goLayerProducer(
  config: ExtensionConfig,
  options: ProducerOptions & { goCommand?: string | undefined },
  version: string,
  goTemporaryDirectory: string,
): LayerProducer {
  return async (staging, architecture) => {
    const output = path.join(staging, 'extensions', config.name);
    let toolchain: RegExpExecArray | undefined;
    const goArguments = goBuildArguments(version, output, config.entry, config.telemetry?.flush);
    const result = await runGoBuild(options.goCommand ?? 'go', goArguments, {
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
        {
          code: 'E_BUILD_GO_TOO_OLD',
          hint: `install go ${toolchain[1]!} or later, or let go fetch it for one run: GOTOOLCHAIN=auto ext build`,
        },
      );
    }
    if (result.code !== 0) {
      throw new CliError(`go build failed for ${architecture} (exit code ${result.code ?? 'signal'})`, {
        code: 'E_BUILD_COMPILE_FAILED',
        hint: "fix the compiler's errors above, then run ext build again",
      });
    }
    await chmod(output, 0o755);
  };
}

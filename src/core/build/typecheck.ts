import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { CancelledError, CliError, errorMessage } from '../errors.js';

/**
 * The type check `ext build`, `ext pack` and `ext dev` run beside esbuild,
 * which strips types without reading them. It is the project's own `tsc`
 * (the generated package.json has typescript as a devDependency), run as a
 * child process in parallel with the bundle, with `--incremental` so that a
 * build after a small edit checks only what changed. The build info lives in
 * node_modules/.cache, which ext dev --watch ignores and git never sees.
 */

/** Set to `off` (or `0`, `false`) to skip the check everywhere, as --no-typecheck does for one command. */
export const typeCheckVariable = 'CREATE_LAMBDA_EXTENSION_TYPECHECK';

export function typeCheckDisabledByEnvironment(environment: NodeJS.ProcessEnv = process.env): boolean {
  return ['off', '0', 'false', 'no'].includes((environment[typeCheckVariable] ?? '').trim().toLowerCase());
}

/** Relative to the project. */
export const typeCheckBuildInfo = path.join(
  'node_modules',
  '.cache',
  'create-lambda-extension',
  'tsconfig.tsbuildinfo',
);

export interface TypeCheckOptions {
  projectDirectory: string;
  /** Each diagnostic, formatted as tsc's pretty output starts it: `file:line:col - error TSnnnn: text`. */
  onOutput?: ((chunk: string) => void) | undefined;
  signal?: AbortSignal | undefined;
}

export interface TypeCheckResult {
  /** False when the project has no tsconfig.json: there is nothing to check against. */
  checked: boolean;
  typescriptVersion?: string;
}

/** The project's tsc: its bin script and version, or undefined when typescript is not installed there. */
export function projectTypeScript(projectDirectory: string): { tsc: string; version: string } | undefined {
  const fromProject = createRequire(path.join(path.resolve(projectDirectory), 'package.json'));
  try {
    const manifest = fromProject.resolve('typescript/package.json');
    const { version } = fromProject(manifest) as { version: string };
    return { tsc: path.join(path.dirname(manifest), 'bin', 'tsc'), version };
  } catch {
    return undefined;
  }
}

/** tsc --pretty false writes `src/a.ts(3,7): error TS2322: …`; people and editors read `src/a.ts:3:7`. */
export function formatDiagnosticLine(line: string): string {
  return line.replace(/^(.+?)\((\d+),(\d+)\): (error|warning|message) /, '$1:$2:$3 - $4 ');
}

const diagnosticPattern = /^(.+?):(\d+):(\d+) - error (TS\d+):/;

/**
 * Runs the project's tsc over its tsconfig.json. Resolves when the types are
 * sound (or there is no tsconfig.json); rejects with a one-line CliError
 * after printing tsc's diagnostics through onOutput.
 */
export async function typeCheck(options: TypeCheckOptions): Promise<TypeCheckResult> {
  const projectDirectory = path.resolve(options.projectDirectory);
  if (!existsSync(path.join(projectDirectory, 'tsconfig.json'))) return { checked: false };
  const typescript = projectTypeScript(projectDirectory);
  if (typescript === undefined) {
    throw new CliError(`typescript is not installed in ${projectDirectory}, so the types cannot be checked`, {
      code: 'E_BUILD_TYPESCRIPT_MISSING',
      hint: "run npm install (typescript is in the project's devDependencies: npm install -D typescript), or pass --no-typecheck",
    });
  }
  const buildInfo = path.join(projectDirectory, typeCheckBuildInfo);
  await mkdir(path.dirname(buildInfo), { recursive: true }).catch(() => {});
  const args = [
    typescript.tsc,
    '-p',
    'tsconfig.json',
    '--noEmit',
    '--incremental',
    '--tsBuildInfoFile',
    buildInfo,
    '--pretty',
    'false',
  ];
  const run = await runTsc(args, projectDirectory, options.signal);
  if (options.signal?.aborted === true) throw new CancelledError();
  if (run.code === 0) return { checked: true, typescriptVersion: typescript.version };
  const lines = run.output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map(formatDiagnosticLine);
  options.onOutput?.(lines.map((line) => `${line}\n`).join(''));
  const diagnostics = lines.map((line) => diagnosticPattern.exec(line)).filter((match) => match !== null);
  if (diagnostics.length === 0) {
    throw new CliError(`type check failed: tsc ${typescript.version} exited with code ${run.code ?? run.signal}`, {
      code: 'E_BUILD_TYPE_ERRORS',
      hint: 'fix the problem tsc reports above, or pass --no-typecheck',
    });
  }
  const files = new Set(diagnostics.map((match) => match[1]));
  const first = diagnostics[0]!;
  throw new CliError(
    `type check failed: ${diagnostics.length} error${diagnostics.length === 1 ? '' : 's'} in ${files.size} file${files.size === 1 ? '' : 's'} (first: ${first[1]}:${first[2]}:${first[3]} ${first[4]})`,
    { code: 'E_BUILD_TYPE_ERRORS', hint: 'fix the errors above, or pass --no-typecheck to build anyway' },
  );
}

function runTsc(
  args: string[],
  cwd: string,
  signal: AbortSignal | undefined,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      resolve({ code: null, signal: 'SIGKILL', output: '' });
      return;
    }
    // The node running ext runs tsc: any node that runs ext runs typescript 5.
    const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const kill = (): void => void child.kill('SIGKILL');
    signal?.addEventListener('abort', kill, { once: true });
    child.on('error', (error) => {
      signal?.removeEventListener('abort', kill);
      reject(
        new CliError(`cannot run tsc: ${errorMessage(error)}`, {
          code: 'E_BUILD_TOOL_UNRUNNABLE',
          hint: 'or pass --no-typecheck',
        }),
      );
    });
    child.on('close', (code, exitSignal) => {
      signal?.removeEventListener('abort', kill);
      resolve({ code, signal: exitSignal, output });
    });
  });
}

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { hostArchitecture } from '../../src/core/layer/architectures.js';
import { createBin, extBin, temporaryDirectory } from './paths.js';
import { scaled } from './time-scale.js';

export { createBin, extBin, repositoryRoot, temporaryDirectory } from './paths.js';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
  /** Kill the process after this long (scaled by the run's time factor); the test then fails on the signal. */
  timeoutMs?: number;
}

/** Runs a command without a terminal (stdin is a pipe, closed after `input`). */
export function run(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      // Most fixtures are projects created without npm install, so they have no tsc to check types with:
      // the type check is off unless a test turns it on (CREATE_LAMBDA_EXTENSION_TYPECHECK: '').
      env: { ...process.env, NO_COLOR: '1', CREATE_LAMBDA_EXTENSION_TYPECHECK: 'off', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), scaled(options.timeoutMs ?? 120_000));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    // A process that exits before reading its input closes the pipe: that is not the test's failure.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

export function runNode(script: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return run(process.execPath, [script, ...args], options);
}

export const runCreate = (args: string[], options?: RunOptions) => runNode(createBin, args, options);
export const runExt = (args: string[], options?: RunOptions) => runNode(extBin, args, options);

/** One line (for assert messages) describing how a run ended. */
export function describeRun(result: RunResult): string {
  return `exit ${result.code ?? result.signal}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

/**
 * Scaffolds a project with `--yes` into a new temporary folder and builds it
 * for this machine; `layer` is its dist/<arch>, ready for `ext dev --layer`.
 */
export async function createAndBuild(
  name: string,
  createArguments: string[],
): Promise<{ workspace: { path: string; cleanup: () => Promise<void> }; project: string; layer: string }> {
  const workspace = await temporaryDirectory(`cle-${name}-`);
  const project = path.join(workspace.path, name);
  const created = await runCreate([project, ...createArguments, '--yes']);
  assert.equal(created.code, 0, describeRun(created));
  const architecture = hostArchitecture() ?? 'x86_64';
  const built = await runExt(['build', '--arch', architecture], { cwd: project, timeoutMs: 300_000 });
  assert.equal(built.code, 0, describeRun(built));
  return { workspace, project, layer: path.join(project, 'dist', architecture) };
}

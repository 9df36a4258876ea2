import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { nodeBinary, nodeCacheDirectory } from '../helpers/node-versions.js';
import { repositoryRoot } from '../helpers/paths.js';

/**
 * The conformance tier's fixture functions (test/fixtures/functions/), made runnable: the Go one built, Python's
 * runtime client installed, each into the tests' cache under a name keyed by what went into it, so a later run
 * reuses it and a changed source builds afresh. Each returns what to run, or one line saying why it cannot here.
 */
export const functionsRoot = path.join(repositoryRoot, 'test', 'fixtures', 'functions');

export type Available<T> = T | { skip: string };

/** The aws-lambda-go fixture's `bootstrap`, in a folder of its own (the task folder of a provided.al2023 function). */
export async function goFunction(): Promise<Available<{ taskDirectory: string }>> {
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.error !== undefined || go.status !== 0)
    return { skip: 'go is not on PATH, so the Go function cannot be built' };
  const source = path.join(functionsRoot, 'go');
  const hash = createHash('sha256').update(go.stdout);
  for (const name of (await readdir(source)).sort()) hash.update(name).update(await readFile(path.join(source, name)));
  const directory = path.join(nodeCacheDirectory(), `conformance-go-function-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(path.join(directory, 'bootstrap'))) return { taskDirectory: directory };
  await mkdir(nodeCacheDirectory(), { recursive: true });
  const staging = await mkdtemp(path.join(nodeCacheDirectory(), '.conformance-go-function-'));
  try {
    // Built from a copy: with -mod=mod go may rewrite go.mod or go.sum, and the checkout may be read-only.
    const work = path.join(staging, 'source');
    await cp(source, work, { recursive: true });
    const output = path.join(staging, 'task', 'bootstrap');
    const built = await runTool('go', ['build', '-tags', 'lambda.norpc', '-trimpath', '-o', output, '.'], {
      cwd: work,
      // GOPROXY and the rest come from the environment, as for any go command the tests run.
      env: { ...process.env, CGO_ENABLED: '0', GOOS: 'linux', GOFLAGS: '-mod=mod' },
    });
    if (built.code !== 0) throw new Error(`go build of the Go fixture function failed:\n${built.output}`);
    await rm(work, { recursive: true, force: true });
    await rename(path.join(staging, 'task'), directory).catch(() => undefined);
    return { taskDirectory: directory };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * The toolkit's own cache folder for these runs (CREATE_LAMBDA_EXTENSION_CACHE for `ext dev`), inside the tests'
 * cache: awslambdaric lands there once, and both emulators' Python functions run on that one install.
 */
export const toolkitCacheDirectory = path.join(nodeCacheDirectory(), 'toolkit-cache');

export interface PythonRuntime {
  python: string;
  /** The folder awslambdaric is installed in (for PYTHONPATH). */
  sitePackages: string;
  /** e.g. `python3.11`, for --runtime and AWS_EXECUTION_ENV. */
  runtimeName: string;
}

/**
 * python3 on PATH with AWS's runtime client, awslambdaric, installed by the toolkit's own installer (pinned, pip
 * --require-hashes, into toolkitCacheDirectory), as `ext dev --function --runtime python3.x` installs it.
 */
export async function pythonRuntime(): Promise<Available<PythonRuntime>> {
  const { findPython, installAwslambdaric } = await import('../../src/core/function/index.js');
  let python;
  try {
    // No python3.0 exists: this finds python3 on PATH, whatever its minor (the runtime is named after it).
    python = await findPython({ minor: 0 });
  } catch {
    return { skip: 'python3 is not on PATH' };
  }
  try {
    const installed = await installAwslambdaric({ python, cacheDirectory: toolkitCacheDirectory });
    return {
      python: python.executable,
      sitePackages: installed.directory,
      runtimeName: `python${python.major}.${python.minor}`,
    };
  } catch (error) {
    return { skip: `awslambdaric cannot be installed for ${python.executable}: ${String(error)}` };
  }
}

/** The Node that runs the Node function on both sides: Lambda's nodejs22.x, from the tests' cache. */
export const functionNodeVersion = '22.23.5';

/** The toolkit's own Node runtime client, as `npm run build` compiles it, and the node it runs on. */
export async function nodeRuntimeClient(): Promise<Available<{ entry: string; node: string }>> {
  const entry = path.join(repositoryRoot, 'build', 'src', 'runtime-client', 'node', 'index.js');
  if (!existsSync(entry)) return { skip: `the Node runtime client is not built (${entry}); npm run build` };
  const node = await nodeBinary(functionNodeVersion);
  if ('skip' in node) return node;
  return { entry, node: node.binary.node };
}

/**
 * A fresh copy of one fixture folder (python, node) as a task folder, so that nothing a run writes (Python's
 * __pycache__) lands in the checkout, and both emulators run the very same files.
 */
export async function taskCopy(
  fixture: 'python' | 'node',
): Promise<{ taskDirectory: string; cleanup(): Promise<void> }> {
  const directory = await mkdtemp(path.join(os.tmpdir(), `cle-conformance-${fixture}-`));
  await cp(path.join(functionsRoot, fixture), directory, { recursive: true });
  return { taskDirectory: directory, cleanup: () => rm(directory, { recursive: true, force: true }) };
}

function runTool(
  command: string,
  args: string[],
  options: { cwd?: string; env: NodeJS.ProcessEnv },
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (error) => resolve({ code: 1, output: String(error) }));
    child.on('close', (code) => resolve({ code, output }));
  });
}

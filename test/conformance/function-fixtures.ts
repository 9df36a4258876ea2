import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { nodeCacheDirectory } from '../helpers/node-versions.js';
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
 * AWS's Python runtime client, awslambdaric, pinned with the hashes of its wheels (pip --require-hashes), installed
 * with `pip --target` into the tests' cache. The hashes are of the CPython 3.11 x86_64 wheels: elsewhere the Python
 * function skips, saying so.
 */
const awslambdaricRequirements = [
  'awslambdaric==4.2.2 --hash=sha256:ea87f581768a7558b493a59ee9f4de6dcbc6444b888169afa01af71396ed731d',
  'simplejson==4.3.0 --hash=sha256:06306ed92b3860802ad9dd7fe88f122a7360b01e3936b8a355d6d689bb2bb774',
  'snapshot-restore-py==1.0.0 --hash=sha256:38f99e696793790f54658e71c68c7a8a40cea877c81232b5052383b1301aceba',
];

export interface PythonRuntime {
  python: string;
  /** The folder awslambdaric is installed in (for PYTHONPATH). */
  sitePackages: string;
  /** e.g. `python3.11`, for the runtime name and AWS_EXECUTION_ENV. */
  runtimeName: string;
}

export async function pythonRuntime(): Promise<Available<PythonRuntime>> {
  const probe = spawnSync(
    'python3',
    ['-c', 'import sys, platform, os; print(sys.executable, "%d.%d" % sys.version_info[:2], platform.machine())'],
    { encoding: 'utf8' },
  );
  if (probe.error !== undefined || probe.status !== 0) return { skip: 'python3 is not on PATH' };
  const [python = 'python3', version = '', machine = ''] = probe.stdout.trim().split(' ');
  if (version !== '3.11' || machine !== 'x86_64') {
    return { skip: `awslambdaric is pinned for CPython 3.11 on x86_64; python3 is ${version} on ${machine}` };
  }
  const sitePackages = path.join(nodeCacheDirectory(), 'conformance-awslambdaric-4.2.2-cp311');
  const runtime = { python, sitePackages, runtimeName: `python${version}` };
  if (existsSync(path.join(sitePackages, 'awslambdaric', '__main__.py'))) return runtime;
  await mkdir(nodeCacheDirectory(), { recursive: true });
  const staging = await mkdtemp(path.join(nodeCacheDirectory(), '.conformance-awslambdaric-'));
  try {
    const requirements = path.join(staging, 'requirements.txt');
    await writeFile(requirements, `${awslambdaricRequirements.join('\n')}\n`);
    const target = path.join(staging, 'site-packages');
    const installed = await runTool(
      python,
      ['-m', 'pip', 'install', '--quiet', '--no-deps', '--require-hashes', '--only-binary=:all:', '--target', target],
      { env: process.env },
      ['-r', requirements],
    );
    if (installed.code !== 0) throw new Error(`pip install of awslambdaric failed:\n${installed.output}`);
    await rename(target, sitePackages).catch(() => undefined);
    return runtime;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** The toolkit's own Node runtime client, as `npm run build` compiles it. */
export function nodeRuntimeClient(): Available<{ entry: string }> {
  const entry = path.join(repositoryRoot, 'build', 'src', 'runtime-client', 'node', 'index.js');
  return existsSync(entry) ? { entry } : { skip: `the Node runtime client is not built (${entry}); npm run build` };
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
  moreArgs: string[] = [],
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, [...args, ...moreArgs], { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (error) => resolve({ code: 1, output: String(error) }));
    child.on('close', (code) => resolve({ code, output }));
  });
}

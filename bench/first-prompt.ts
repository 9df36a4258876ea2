/**
 * What a newcomer waits for: `npx create-lambda-extension` with nothing
 * cached, from the command to its first question on a terminal. npx installs
 * the package and everything it depends on first, so this is mostly npm's
 * install of the toolkit; create-vite's figure (about a second) is the one
 * users compare with.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { absoluteRow, log, root, runs } from './rows.js';
import { median } from './measure.js';

/** The first prompt create-lambda-extension asks (src/cli/create.ts). */
const firstPrompt = /Project directory/;

/** Packages in an npm install tree: every folder with a package.json under node_modules, scoped ones included. */
export async function countInstalledPackages(nodeModules: string): Promise<number> {
  let count = 0;
  const entries = await readdir(nodeModules, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const folder = path.join(nodeModules, entry.name);
    if (entry.name.startsWith('@')) {
      count += (await readdir(folder, { withFileTypes: true })).filter((scoped) => scoped.isDirectory()).length;
    } else {
      count += 1;
    }
    // Nested copies (a version conflict) count too.
    const nested = path.join(folder, 'node_modules');
    count += await countInstalledPackages(nested);
  }
  return count;
}

/** The one node_modules npx installed into a fresh cache folder. */
export async function npxInstallTree(cache: string): Promise<string | undefined> {
  const npx = path.join(cache, '_npx');
  const [first] = await readdir(npx).catch(() => []);
  return first === undefined ? undefined : path.join(npx, first, 'node_modules');
}

export interface ColdNpxRun {
  /** From spawning npx to the first prompt's text on the terminal. */
  ms: number;
  /** Packages npx installed to run it. */
  packages: number;
}

/**
 * One cold run: a fresh npm cache folder (nothing downloaded or unpacked
 * before), the packed tarball as the package source, on a pseudo-terminal
 * (util-linux `script`), timed until the first prompt appears; then killed.
 */
export async function coldNpxToFirstPrompt(tarball: string, timeoutMs = 600_000): Promise<ColdNpxRun> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'bench-npx-'));
  const cache = path.join(scratch, 'npm-cache');
  try {
    const command = ['npx', '--yes', '--cache', cache, '--package', tarball, 'create-lambda-extension'];
    const quoted = command.map((part) => `'${part.replace(/'/g, `'\\''`)}'`).join(' ');
    const started = performance.now();
    const child = spawn('script', ['-qfec', quoted, '/dev/null'], {
      cwd: scratch,
      env: { ...process.env, CI: '', TERM: 'xterm', COLUMNS: '100', LINES: '40', npm_config_update_notifier: 'false' },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const ms = await new Promise<number>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`no prompt within ${timeoutMs} ms:\n${output}`)), timeoutMs);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        // eslint-disable-next-line no-control-regex -- colours and cursor moves split the text
        if (firstPrompt.test(output.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, ''))) {
          clearTimeout(timer);
          resolve(performance.now() - started);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('close', (code) => {
        clearTimeout(timer);
        reject(new Error(`npx exited (${code}) before the first prompt:\n${output}`));
      });
    }).finally(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
    });
    const tree = await npxInstallTree(cache);
    return { ms, packages: tree === undefined ? 0 : await countInstalledPackages(tree) };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Packs this checkout (its build is current: the bench builds first) into `workspace`. */
export async function packToolkit(workspace: string): Promise<string> {
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', workspace], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`npm pack exited ${code}`))));
  });
  const [details] = JSON.parse(output.slice(output.indexOf('['))) as [{ filename: string }];
  return path.join(workspace, details.filename);
}

export async function firstPromptFigure(workspace: string): Promise<void> {
  log('npx create-lambda-extension, cold, to the first prompt');
  const tarball = await packToolkit(workspace);
  const results: ColdNpxRun[] = [];
  for (let run = 0; run < runs(3); run += 1) results.push(await coldNpxToFirstPrompt(tarball));
  const ms = median(results.map((result) => result.ms));
  absoluteRow(
    '`npx create-lambda-extension` from the tarball, empty npm cache, to the first prompt',
    ms / 1000,
    's',
    '≤ 5 s',
    ms <= 5000,
    `${results[0]!.packages} package(s) installed by npx`,
  );
}

import { execFile, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import yauzl from 'yauzl';
import { scaled } from './time-scale.js';

export const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const extBin = path.join(repositoryRoot, 'bin', 'ext.js');
export const createBin = path.join(repositoryRoot, 'bin', 'create-lambda-extension.js');
const run = promisify(execFile);

const temporaryDirectories: string[] = [];
process.on('exit', () => {
  for (const directory of temporaryDirectories) rmSync(directory, { recursive: true, force: true });
});

/** A temp dir removed when the test process exits. */
export async function temporaryDirectory(prefix = 'layer-test-'): Promise<string> {
  const directory = await mkdtemp(path.join(os.tmpdir(), prefix));
  temporaryDirectories.push(directory);
  return directory;
}

const goBinaries = new Map<string, Promise<Buffer>>();

/** A real, tiny, static Linux Go binary for the architecture, built once per test process. */
export function goBinary(architecture: 'x86_64' | 'arm64'): Promise<Buffer> {
  let binary = goBinaries.get(architecture);
  if (binary === undefined) {
    binary = (async () => {
      const directory = await temporaryDirectory('layer-go-');
      await writeFile(path.join(directory, 'go.mod'), 'module tiny\n\ngo 1.21\n');
      await writeFile(
        path.join(directory, 'main.go'),
        'package main\n\nimport "os"\n\nfunc main() { os.Stdout.WriteString("tiny\\n") }\n',
      );
      const output = path.join(directory, 'tiny');
      await run('go', ['build', '-trimpath', '-buildvcs=false', '-ldflags', '-s -w -buildid=', '-o', output, '.'], {
        cwd: directory,
        env: { ...process.env, CGO_ENABLED: '0', GOOS: 'linux', GOARCH: architecture === 'x86_64' ? 'amd64' : 'arm64' },
      });
      return readFile(output);
    })();
    goBinaries.set(architecture, binary);
  }
  return binary;
}

export async function writeProject(directory: string, config: Record<string, unknown> = {}): Promise<void> {
  await mkdir(directory, { recursive: true });
  const full = {
    name: 'demo',
    language: 'go',
    entry: '.',
    architectures: ['x86_64', 'arm64'],
    version: '1.2.3',
    ...config,
  };
  await writeFile(path.join(directory, 'lambda-extension.json'), `${JSON.stringify(full, null, 2)}\n`);
}

/** What ext build makes for Go: <layer>/extensions/<name>, written here with mode 0644 to prove pack fixes it. */
export async function writeGoLayer(
  layerDirectory: string,
  architecture: 'x86_64' | 'arm64',
  name = 'demo',
): Promise<void> {
  await mkdir(path.join(layerDirectory, 'extensions'), { recursive: true });
  const file = path.join(layerDirectory, 'extensions', name);
  await writeFile(file, await goBinary(architecture));
  await chmod(file, 0o644);
}

export const tsLauncher = (name: string): string =>
  `#!/bin/sh\n# Lambda runs this from /opt/extensions; node loads the bundle next to it.\nunset NODE_OPTIONS\nexec node "$(dirname "$0")/../${name}/index.mjs" "$@"\n`;

/** What ext build makes for TypeScript: a sh launcher, the bundle (executable) and its source map. */
export async function writeTsLayer(layerDirectory: string, name = 'demo'): Promise<void> {
  await mkdir(path.join(layerDirectory, 'extensions'), { recursive: true });
  await mkdir(path.join(layerDirectory, name), { recursive: true });
  await writeFile(path.join(layerDirectory, 'extensions', name), tsLauncher(name), { mode: 0o755 });
  await writeFile(
    path.join(layerDirectory, name, 'index.mjs'),
    '#!/usr/bin/env node\nconsole.log("extension");\n//# sourceMappingURL=index.mjs.map\n',
    { mode: 0o755 },
  );
  await writeFile(path.join(layerDirectory, name, 'index.mjs.map'), '{"version":3,"sources":[],"mappings":""}\n', {
    mode: 0o644,
  });
}

export interface ExtRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runExt(
  args: string[],
  options: {
    cwd?: string;
    env?: NodeJS.ProcessEnv;
    onSpawn?: (pid: number) => void;
    /** SIGKILL after this long, so a hang fails the test (on the signal) instead of stalling the suite. */
    timeoutMs?: number;
  } = {},
): Promise<ExtRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [extBin, ...args], {
      cwd: options.cwd,
      // These projects have no node_modules: ext's own type check is off unless a test turns it on.
      env: { ...process.env, NO_COLOR: '1', CREATE_LAMBDA_EXTENSION_TYPECHECK: 'off', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer =
      options.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), scaled(options.timeoutMs));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    if (options.onSpawn !== undefined && child.pid !== undefined) options.onSpawn(child.pid);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export interface YauzlEntry {
  name: string;
  versionMadeBy: number;
  externalFileAttributes: number;
  extraFieldIds: number[];
  lastModFileDate: number;
  lastModFileTime: number;
  data: Buffer;
}

/** Reads every entry with yauzl, the independent reader (it validates sizes and CRCs itself). */
export function readWithYauzl(zipPath: string): Promise<YauzlEntry[]> {
  return new Promise((resolve, reject) => {
    yauzl.open(zipPath, { lazyEntries: true, validateEntrySizes: true, strictFileNames: true }, (openError, zip) => {
      if (openError !== null || zip === undefined) return reject(openError ?? new Error('no zip'));
      const entries: YauzlEntry[] = [];
      zip.on('error', reject);
      zip.on('end', () => resolve(entries));
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError !== null || stream === undefined) return reject(streamError ?? new Error('no stream'));
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('error', reject);
          stream.on('end', () => {
            entries.push({
              name: entry.fileName,
              versionMadeBy: entry.versionMadeBy,
              externalFileAttributes: entry.externalFileAttributes,
              extraFieldIds: entry.extraFields.map((field) => field.id),
              lastModFileDate: entry.lastModFileDate,
              lastModFileTime: entry.lastModFileTime,
              data: Buffer.concat(chunks),
            });
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}

/** `unzip -Z` (zipinfo) listing lines for the entries, e.g. "-rwxr-xr-x  4.5 unx  1573026 bl defN 80-Jan-01 00:00 extensions/demo". */
export async function zipinfo(zipPath: string, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  const { stdout } = await run('unzip', ['-Z', zipPath], { env: { ...process.env, ...env } });
  return stdout.split('\n').filter((line) => /^[-dl][rwx-]{9}/.test(line));
}

import assert from 'node:assert/strict';
import { scaled } from '../helpers/time-scale.js';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { replaceDirectory } from '../../src/core/fs-utils.js';
import { runCreate, runExt, temporaryDirectory } from '../helpers/run-cli.js';
import { writeTypeScriptProject } from '../helpers/minimal-project.js';

/** A TypeScript project: esbuild builds it in well under a second. */
const tsProject = (root: string): Promise<string> => writeTypeScriptProject(path.join(root, 'project'));

/** One line of error and a hint, the way every CliError is reported; never an internal error with a stack. */
function assertOneLineError(result: { code: number | null; stderr: string }, code: number, message: RegExp): void {
  assert.equal(result.code, code, result.stderr);
  assert.match(result.stderr, message);
  assert.doesNotMatch(result.stderr, /internal error|\n\s+at /);
  assert.ok(result.stderr.length < 2000, `a short message, not ${result.stderr.length} characters`);
}

describe('failures that used to crash with a stack trace are one-line errors', { timeout: scaled(120_000) }, () => {
  test('a read-only --out', async (t) => {
    // Root writes anywhere, so run the bin as nobody against a folder only root may write.
    if (process.getuid?.() === 0 && process.platform !== 'linux') t.skip('needs Linux to drop privileges');
    const root = await mkdtemp(path.join(os.tmpdir(), 'ro-out-'));
    try {
      await chmod(root, 0o755);
      const project = await tsProject(root);
      const out = path.join(project, 'dist');
      await mkdir(out, { mode: 0o555 });
      await chmod(out, 0o555);
      const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
      // Nobody may not be able to enter the checkout (a root-only clone such as mktemp -d or /root):
      // it runs its own copy of the CLI from the world-readable folder.
      const bin = process.getuid?.() === 0 ? await worldReadableExt(root) : undefined;
      for (const command of ['build', 'pack']) {
        const result = await runExtAs([command], project, asNobody, bin);
        assertOneLineError(result, 1, /^error\[E_OUT_UNWRITABLE\]: --out: .*\/dist: /m);
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  test('two runs replacing the same layer folder at once both succeed, leaving one complete version', async () => {
    const workspace = await temporaryDirectory('replace-race-');
    try {
      const target = path.join(workspace.path, 'x86_64');
      for (let round = 0; round < 100; round += 1) {
        const fresh = await Promise.all(
          ['a', 'b', 'c'].map(async (label) => {
            const directory = path.join(workspace.path, `.fresh-${label}-${round}`);
            await mkdir(directory);
            await writeFile(path.join(directory, 'file'), label);
            return directory;
          }),
        );
        await Promise.all(fresh.map((directory) => replaceDirectory(directory, target)));
        assert.match(await readFile(path.join(target, 'file'), 'utf8'), /^[abc]$/);
        assert.deepEqual(await readdir(workspace.path), ['x86_64'], 'no .old or fresh folders left');
      }
    } finally {
      await workspace.cleanup();
    }
  });

  test('concurrent ext pack runs succeed or fail with a clear error', async () => {
    const workspace = await temporaryDirectory('pack-race-');
    try {
      const project = await tsProject(workspace.path);
      for (let round = 0; round < 4; round += 1) {
        const results = await Promise.all([1, 2, 3].map(() => runExt(['pack'], { cwd: project, timeoutMs: 60_000 })));
        for (const result of results) {
          assert.ok(result.code === 0 || result.code === 1, result.stderr);
          // Another pack writing the same dist/ at the same moment: the codes that name that race.
          const raced =
            /^error\[E_(PACK_LAYER_CHANGED|PACK_VERIFY_FAILED|PACK_WRITE_FAILED|BUILD_WRITE_FAILED|OUT_NOT_OWNED|OUT_CHANGED_DURING_RUN)\]: /m;
          if (result.code === 1) assertOneLineError(result, 1, raced);
        }
      }
      const left = (await readdir(path.join(project, 'dist'))).filter((name) =>
        /\.(tmp|old-|build-|bundle-)/.test(name),
      );
      assert.deepEqual(left, []);
    } finally {
      await workspace.cleanup();
    }
  });

  test('a version too long for a command line is refused, from the flag and from the config', async () => {
    const workspace = await temporaryDirectory('long-version-');
    try {
      const project = await tsProject(workspace.path);
      // One argument may hold at most 128 KiB: the flag test stays below that, the config above.
      const flag = await runExt(['build', '--extension-version', '1'.repeat(100_000)], {
        cwd: project,
        timeoutMs: 30_000,
      });
      assertOneLineError(
        flag,
        2,
        /^error\[E_CONFIG_OVERRIDE_INVALID\]: --extension-version: "1{40}"… \(100000 characters\) /m,
      );
      const config = JSON.parse(await readFile(path.join(project, 'lambda-extension.json'), 'utf8')) as object;
      await writeFile(
        path.join(project, 'lambda-extension.json'),
        JSON.stringify({ ...config, version: '1'.repeat(200_000) }),
      );
      const fromFile = await runExt(['build'], { cwd: project, timeoutMs: 30_000 });
      assertOneLineError(fromFile, 1, /^error\[E_CONFIG_INVALID\]: .*"version": "1{40}"… \(200000 characters\) /m);
    } finally {
      await workspace.cleanup();
    }
  });

  test('scaffolding into a dangling symlink names the link; onto /proc fails at once', async () => {
    const workspace = await temporaryDirectory('dangling-');
    try {
      const link = path.join(workspace.path, 'my-ext');
      await symlink(path.join(workspace.path, 'nowhere'), link);
      const result = await runCreate([link, '--yes'], { timeoutMs: 30_000 });
      assertOneLineError(
        result,
        1,
        /^error\[E_CREATE_DIRECTORY_UNUSABLE\]: .*\/my-ext is a symbolic link to .*\/nowhere, /m,
      );
      assert.deepEqual((await readdir(workspace.path)).sort(), ['my-ext']);
      // Node's recursive mkdir spins forever under /proc; the scaffolder must fail at once instead.
      for (const [target, code] of [
        ['/proc/no-such-project', 'E_TEMPLATE_STAGING_FAILED'],
        ['/proc/self/no/such/project', 'E_FOLDER_NOT_CREATABLE'],
      ]) {
        const virtual = await runCreate([target!, '--name', 'x', '--yes'], { timeoutMs: 15_000 });
        assertOneLineError(virtual, 1, new RegExp(`^error\\[${code!}\\]: .*/proc/`, 'm'));
      }
    } finally {
      await workspace.cleanup();
    }
  });

  test('--force checks every target before writing any, and changes nothing when one cannot be replaced', async () => {
    const workspace = await temporaryDirectory('force-');
    const elsewhere = await temporaryDirectory('force-elsewhere-');
    try {
      const directory = path.join(workspace.path, 'my-ext');
      await mkdir(directory);
      await writeFile(path.join(directory, 'go.mod'), 'module mine\n');
      const cases: [string, () => Promise<void>, RegExp][] = [
        [
          'a folder where a file goes',
          () => mkdir(path.join(directory, 'README.md')),
          /README\.md is a folder where the template has a file/,
        ],
        [
          'a file where a folder goes',
          () => writeFile(path.join(directory, 'extension'), 'mine'),
          /extension is a file where the template has a folder/,
        ],
        [
          'a folder symlinked out of the project',
          () => symlink(elsewhere.path, path.join(directory, 'extension')),
          /extension is a symbolic link to .*, outside the project/,
        ],
      ];
      for (const [what, arrange, message] of cases) {
        await arrange();
        const result = await runCreate([directory, '--lang', 'go', '--force', '--yes'], { timeoutMs: 30_000 });
        assertOneLineError(
          result,
          1,
          new RegExp(
            `^error\\[E_TEMPLATE_PATH_BLOCKED\\]: --force: cannot put the template files into .*: ${message.source}`,
            'm',
          ),
        );
        assert.equal(await readFile(path.join(directory, 'go.mod'), 'utf8'), 'module mine\n', what);
        assert.deepEqual(await readdir(elsewhere.path), [], what);
        await rm(path.join(directory, 'README.md'), { recursive: true, force: true });
        await rm(path.join(directory, 'extension'), { recursive: true, force: true });
        assert.deepEqual(await readdir(directory), ['go.mod'], `${what}: nothing else written`);
      }
      assert.deepEqual((await readdir(workspace.path)).sort(), ['my-ext'], 'no staging folder left');
      const ok = await runCreate([directory, '--lang', 'go', '--force', '--yes'], { timeoutMs: 30_000 });
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /overwrote 1 file\(s\): go\.mod/);
    } finally {
      await workspace.cleanup();
      await elsewhere.cleanup();
    }
  });
});

/** runExt, optionally as another user (the helper has no uid option). */
async function runExtAs(
  args: string[],
  cwd: string,
  identity: { uid?: number; gid?: number },
  bin?: string,
): Promise<{ code: number | null; stderr: string }> {
  const { spawn } = await import('node:child_process');
  const { extBin } = await import('../helpers/run-cli.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin ?? extBin, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1', HOME: cwd },
      stdio: ['ignore', 'ignore', 'pipe'],
      ...identity,
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), scaled(30_000));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

/**
 * A copy of what `ext build` and `ext pack` load (the bins, the bundled CLI,
 * the package root's markers and esbuild) inside `folder`, readable by every
 * user, so a process that dropped root can run it wherever the checkout is.
 */
async function worldReadableExt(folder: string): Promise<string> {
  const { cp } = await import('node:fs/promises');
  const { repositoryRoot } = await import('../helpers/run-cli.js');
  const copy = path.join(folder, 'toolkit');
  for (const part of [
    'bin',
    'build/cli',
    'package.json',
    'templates',
    'schema',
    'node_modules/esbuild',
    'node_modules/@esbuild',
  ]) {
    await cp(path.join(repositoryRoot, part), path.join(copy, part), { recursive: true });
  }
  await makeWorldReadable(copy);
  return path.join(copy, 'bin', 'ext.js');
}

async function makeWorldReadable(entry: string): Promise<void> {
  const { lstat } = await import('node:fs/promises');
  const stats = await lstat(entry);
  if (stats.isSymbolicLink()) return;
  await chmod(entry, stats.mode | (stats.isDirectory() || (stats.mode & 0o100) !== 0 ? 0o755 : 0o644));
  if (stats.isDirectory()) for (const child of await readdir(entry)) await makeWorldReadable(path.join(entry, child));
}

import { constants, readdirSync, type Dirent } from 'node:fs';
import { access, lstat, mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CliError, errorMessage } from './errors.js';

/**
 * What every temporary path of ours ends with: the process id, so that a
 * later run can tell an abandoned one (its process is gone) from one in use,
 * and random hex, so that two containers sharing a pid never collide. Web
 * Crypto's global: importing node:crypto is costly at start-up (see docs/benchmarks.md).
 */
export function temporaryTag(): string {
  return `${process.pid}-${Buffer.from(crypto.getRandomValues(new Uint8Array(4))).toString('hex')}`;
}

/**
 * A sibling path that the final rename can atomically replace (same directory, same filesystem):
 * `.<name>.<label>.<pid>-<hex>`.
 */
export function temporarySibling(target: string, label: 'tmp' | 'old' | 'build' = 'tmp'): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${label}.${temporaryTag()}`);
}

const temporaryName = /^\.(.+)\.(tmp|old|build)\.(\d+)-[0-9a-f]{8}$/;

/** What build and pack write into --out, and so the only names whose temporary paths they tidy. */
const outputName = /^(?:x86_64|arm64|.+-(?:x86_64|arm64)\.zip|manifest\.json|\.ext-output\.json)$/;

/** Younger than this, a temporary path is left alone whoever made it: its run may live in another pid namespace. */
export const abandonedAfterMs = 60 * 60 * 1000;

function processIsGone(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    // EPERM: it exists, as another user's.
    return isErrorCode(error, 'ESRCH');
  }
}

/**
 * Removes what a killed build or pack left in an --out folder (SIGKILL, an
 * OOM kill, a CI timeout): half-written zips and staging folders (`tmp`,
 * `build`), and a previous version moved aside (`old`) once its replacement
 * stands. Only temporary names of the files build and pack write, made by a
 * process that is gone, and older than `abandonedAfterMs`. Tidying is never
 * a reason to fail: what cannot be removed stays. Returns the names removed.
 */
export async function removeAbandonedTemporaries(directory: string, now = Date.now()): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(directory).catch(() => [] as string[])) {
    const match = temporaryName.exec(name);
    if (match === null) continue;
    const [, base, label, pid] = match as unknown as [string, string, string, string];
    if (!outputName.test(base) || !processIsGone(Number(pid))) continue;
    const info = await lstat(path.join(directory, name)).catch(() => undefined);
    if (info === undefined || now - info.mtimeMs < abandonedAfterMs) continue;
    // A version moved aside is the only copy left if its replacement never arrived: keep it then.
    if (label === 'old' && !(await pathExists(path.join(directory, base)))) continue;
    await rm(path.join(directory, name), { recursive: true, force: true }).then(
      () => removed.push(name),
      () => {},
    );
  }
  return removed;
}

/** Whether something, even a broken symbolic link, is at `file`. */
export async function pathExists(file: string): Promise<boolean> {
  return lstat(file).then(
    () => true,
    () => false,
  );
}

/** Writes a file so that readers see either the old or the new content, never half of it. */
export async function writeFileAtomic(target: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true });
  const temporary = temporarySibling(target);
  try {
    await writeFile(temporary, data, { mode });
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * Puts a freshly built directory at `target`, replacing what was there. The
 * old directory is moved aside first and removed only once the new one is in
 * place, so a failure at any point leaves one complete version. Another run
 * replacing the same target at the same moment (two `ext pack`s) can put its
 * directory back in between: then that one is moved aside too, and the last
 * run to finish wins.
 */
export async function replaceDirectory(freshDirectory: string, target: string): Promise<void> {
  const previous: string[] = [];
  try {
    for (let attempt = 0; ; attempt += 1) {
      const aside = temporarySibling(target, 'old');
      try {
        await rename(target, aside);
        previous.push(aside);
      } catch (error) {
        if (!isErrorCode(error, 'ENOENT')) throw error;
      }
      try {
        await rename(freshDirectory, target);
        break;
      } catch (error) {
        if (!isErrorCode(error, 'ENOTEMPTY', 'EEXIST') || attempt >= 20) throw error;
      }
    }
  } catch (error) {
    // Put the newest previous version back, if the target is still free.
    const newest = previous.pop();
    let stranded: string | undefined;
    if (newest !== undefined) {
      await rename(newest, target).catch(async () => {
        // Another run's version stands there: ours is redundant. Otherwise it is the only copy left.
        if (
          await lstat(target).then(
            () => true,
            () => false,
          )
        )
          previous.push(newest);
        else stranded = newest;
      });
    }
    await Promise.all(previous.map((directory) => rm(directory, { recursive: true, force: true })));
    if (stranded !== undefined && error instanceof Error)
      error.message += ` (the previous ${target} is kept at ${stranded})`;
    throw error;
  }
  await Promise.all(previous.map((directory) => rm(directory, { recursive: true, force: true })));
}

/** Relative paths of every file below `root`, sorted, with forward slashes. */
export async function listFiles(root: string): Promise<string[]> {
  return relativeFilePaths(root, await readdir(root, { recursive: true, withFileTypes: true }));
}

/** listFiles for the toolkit's own small folders (templates): a thread-pool round trip costs more than the read. */
export function listFilesSync(root: string): string[] {
  return relativeFilePaths(root, readdirSync(root, { recursive: true, withFileTypes: true }));
}

function relativeFilePaths(root: string, entries: Dirent[]): string[] {
  return entries
    .filter((entry) => !entry.isDirectory())
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .sort();
}

export function isErrorCode(error: unknown, ...codes: string[]): boolean {
  return codes.includes((error as NodeJS.ErrnoException | undefined)?.code ?? '');
}

/**
 * Creates --out one level at a time below its nearest existing ancestor.
 * Node's recursive mkdir spins forever where mkdir answers ENOENT although the
 * parent exists (/proc, /sys and other virtual filesystems); creating each
 * level ourselves turns that into one clear error.
 */
export async function ensureOutDirectory(outDirectory: string): Promise<void> {
  await ensureDirectory(outDirectory, {
    what: '--out: cannot create the output folder',
    hint: 'pass a writable folder on a regular filesystem with --out (default: dist in the project)',
  });
}

/** ensureOutDirectory for any folder: `what` starts the error message, which then names the folder and the reason. */
export async function ensureDirectory(outDirectory: string, describe: { what: string; hint: string }): Promise<void> {
  const fail = (reason: string): never => {
    throw new CliError(`${describe.what} ${outDirectory}: ${reason}`, {
      code: 'E_FOLDER_NOT_CREATABLE',
      hint: describe.hint,
    });
  };
  const missing: string[] = [];
  let existing = outDirectory;
  for (;;) {
    const info = await stat(existing).catch((error: NodeJS.ErrnoException) =>
      // ENOTDIR: a file somewhere above; walking up names it.
      error.code === 'ENOENT' || error.code === 'ENOTDIR' ? undefined : fail(`${existing}: ${errorMessage(error)}`),
    );
    if (info !== undefined) {
      if (!info.isDirectory()) fail(`a file is in the way (${existing})`);
      break;
    }
    const parent = path.dirname(existing);
    if (parent === existing) fail('its root does not exist');
    missing.unshift(existing);
    existing = parent;
  }
  if (missing.length === 0) return;
  try {
    await access(existing, constants.W_OK | constants.X_OK);
  } catch {
    fail(`permission denied (${existing} is not writable)`);
  }
  for (const directory of missing) {
    try {
      await mkdir(directory);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && (await stat(directory).catch(() => undefined))?.isDirectory() === true) continue;
      fail(
        code === 'EEXIST' || code === 'ENOTDIR'
          ? `a file is in the way (${code === 'EEXIST' ? directory : path.dirname(directory)})`
          : code === 'EACCES' || code === 'EPERM'
            ? `permission denied (in ${path.dirname(directory)})`
            : code === 'EROFS'
              ? `${path.dirname(directory)} is on a read-only filesystem`
              : code === 'ENOENT'
                ? `${path.dirname(directory)} does not accept new folders (a virtual filesystem, like /proc?)`
                : errorMessage(error),
      );
    }
  }
}

/**
 * Reads a whole file as UTF-8 unless it is larger than `maximumBytes`, in
 * which case it gives undefined having read no more than that: a config or
 * marker file may be anything, /dev/zero included.
 */
export async function readBoundedText(file: string, maximumBytes: number): Promise<string | undefined> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(maximumBytes + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) return buffer.subarray(0, length).toString('utf8');
      length += bytesRead;
      if (length > maximumBytes) return undefined;
    }
  } finally {
    await handle.close();
  }
}

/** What `readRegularFileUpTo` found where it wanted a regular file of bounded size. */
export type IrregularFile = { problem: 'directory' | 'not-regular' } | { problem: 'too-large'; size: number };

/**
 * Reads a whole regular file of at most `maximumBytes`, checked on the opened
 * handle, so that a file swapped after a check is not read either: a FIFO is
 * opened without blocking and refused, and a device such as /dev/zero is
 * refused before a byte is read. Errors from opening (ENOENT …) are thrown.
 */
export async function readRegularFileUpTo(file: string, maximumBytes: number): Promise<Buffer | IrregularFile> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stats = await handle.stat();
    if (stats.isDirectory()) return { problem: 'directory' };
    if (!stats.isFile()) return { problem: 'not-regular' };
    if (stats.size > maximumBytes) return { problem: 'too-large', size: stats.size };
    const buffer = Buffer.alloc(stats.size);
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

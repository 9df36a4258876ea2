import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** A sibling path that the final rename can atomically replace (same directory, same filesystem). */
export function temporarySibling(target: string, label = 'tmp'): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${label}-${randomBytes(4).toString('hex')}`);
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
 * place, so a failure at any point leaves one complete version.
 */
export async function replaceDirectory(freshDirectory: string, target: string): Promise<void> {
  const previous = temporarySibling(target, 'old');
  let movedAside = false;
  try {
    await rename(target, previous);
    movedAside = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  try {
    await rename(freshDirectory, target);
  } catch (error) {
    if (movedAside) await rename(previous, target);
    throw error;
  }
  if (movedAside) await rm(previous, { recursive: true, force: true });
}

/** Relative paths of every file below `root`, sorted, with forward slashes. */
export async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => !entry.isDirectory())
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .sort();
}

export function isErrorCode(error: unknown, ...codes: string[]): boolean {
  return codes.includes((error as NodeJS.ErrnoException | undefined)?.code ?? '');
}

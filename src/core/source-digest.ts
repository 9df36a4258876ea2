import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import path from 'node:path';

/*
 * What ext pack records in dist/manifest.json, and ext publish checks, so
 * that zips built from older sources are not published as if they were
 * current. Content, not mtimes: a fresh checkout or a copied artifact has new
 * dates but the same bytes.
 */

/** Build output, dependencies, VCS data, IaC and tests: none of them goes into the layer. */
const skippedDirectories = new Set(['node_modules', 'dist', 'build', 'infra', 'test', 'tests', 'testdata']);
/** The files a Go or TypeScript build reads. */
const sourceFile = /\.(go|[cm]?[jt]sx?|json)$|^go\.(mod|sum|work)$/;
/** Tests are sources the build never reads: editing one must not make the zips stale. */
const testFile = /_test\.go$|\.(test|spec)\.[cm]?[jt]sx?$/;

/** Far more than any extension has; past it, no digest is recorded and nothing is checked. */
const maximumFiles = 20_000;
const maximumFileBytes = 64 * 1024 * 1024;

/**
 * sha256 over the relative path and bytes of every source file, in a fixed
 * order, or undefined when the tree is too large to hash quickly. Symbolic
 * links, dot folders and the output folder are skipped.
 */
export async function sourcesDigest(projectDirectory: string, outDirectory: string): Promise<string | undefined> {
  const files: string[] = [];
  const outRelative = path.relative(projectDirectory, outDirectory).split(path.sep).join('/');
  const walk = async (directory: string, relative: string): Promise<boolean> => {
    const entries = await readdir(directory, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const name = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        if (entry.name.startsWith('.') || skippedDirectories.has(entry.name) || name === outRelative) continue;
        if (!(await walk(path.join(directory, entry.name), name))) return false;
      } else if (entry.isFile() && sourceFile.test(entry.name) && !testFile.test(entry.name)) {
        files.push(name);
        if (files.length > maximumFiles) return false;
      }
    }
    return true;
  };
  if (!(await walk(projectDirectory, ''))) return undefined;
  files.sort();
  const hash = createHash('sha256');
  for (const file of files) {
    const bytes = await readSource(path.join(projectDirectory, file));
    if (bytes === undefined) return undefined;
    hash.update(`${file}\0${bytes.length}\0`).update(bytes);
  }
  return hash.digest('hex');
}

/** A regular file's bytes, read from the handle that was checked; undefined for anything else or anything huge. */
async function readSource(file: string): Promise<Buffer | undefined> {
  // Non-blocking: a FIFO swapped in after the listing must not hang the read.
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK).catch(() => undefined);
  if (handle === undefined) return undefined;
  try {
    const stat = await handle.stat();
    if (!stat.isFile() || stat.size > maximumFileBytes) return undefined;
    return await handle.readFile();
  } catch {
    return undefined;
  } finally {
    await handle.close();
  }
}

import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';

/*
 * Paths and temporary folders, with no process and no socket: the unit tier may import this module
 * (test/unit/tier-guard.test.ts keeps it to such helpers); run-cli.ts re-exports it for the other tiers.
 */

/** The checkout root: build/test/helpers/paths.js sits three levels below it. */
export const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const createBin = path.join(repositoryRoot, 'bin', 'create-lambda-extension.js');
export const extBin = path.join(repositoryRoot, 'bin', 'ext.js');

/** A fresh temporary directory, removed by the returned cleanup. */
export async function temporaryDirectory(
  prefix = 'cle-test-',
): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const directory = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { path: directory, cleanup: () => rm(directory, { recursive: true, force: true }) };
}

/**
 * A maker of temporary folders for one test file, called at its top level: every folder it made is removed
 * once the file's tests have run, so a test needs no cleanup of its own.
 */
export function temporaryFolders(): (prefix: string) => Promise<string> {
  const made: string[] = [];
  after(() => Promise.all(made.map((directory) => rm(directory, { recursive: true, force: true }))));
  return async (prefix) => {
    const directory = await mkdtemp(path.join(os.tmpdir(), prefix));
    made.push(directory);
    return directory;
  };
}

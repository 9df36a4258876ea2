import fs from 'node:fs/promises';
import path from 'node:path';
import { CliError } from '../errors.js';

/**
 * The extension rule, decided here once: Lambda starts every regular file at the top of `/opt/extensions`
 * (following symbolic links, skipping folders), in parallel. A file deeper down is never started.
 */

export const extensionsFolder = 'extensions';

/**
 * Whether a path relative to /opt sits where Lambda starts what it finds: directly in `extensions/`. Takes
 * a zip entry's name as written (`extensions/x`, not `extensions//x`) or its components (entries.ts).
 */
export function isExtensionPath(pathOrComponents: string | readonly string[]): boolean {
  const components = typeof pathOrComponents === 'string' ? pathOrComponents.split('/') : pathOrComponents;
  return components.length === 2 && components[0] === extensionsFolder && components[1] !== '';
}

export interface ExtensionFile {
  /** The file name, which is also the name it must register with. */
  name: string;
  /** Its absolute path. */
  file: string;
}

/**
 * The files Lambda starts from a layer folder, as RIE lists them: top level only, sorted for a stable order.
 * Paths are absolute: the processes start in another working directory than a library caller's.
 */
export async function listExtensionFiles(layerDirectory: string): Promise<ExtensionFile[]> {
  const directory = path.resolve(layerDirectory, extensionsFolder);
  let names: string[];
  try {
    names = await fs.readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const files: ExtensionFile[] = [];
  for (const name of names.sort()) {
    const file = path.join(directory, name);
    const stat = await fs.stat(file).catch(() => undefined);
    if (stat?.isFile()) files.push({ name, file });
  }
  return files;
}

/** The same files in a copy of the layer at `layerDirectory` (ext dev's private copy under CPU emulation). */
export function extensionFilesIn(layerDirectory: string, files: readonly ExtensionFile[]): ExtensionFile[] {
  return files.map(({ name }) => ({ name, file: path.resolve(layerDirectory, extensionsFolder, name) }));
}

/** Why a layer starts nothing, in the words every command uses. */
export const noExtensionsProblem = `it has no file at the top of ${extensionsFolder}/, so Lambda would start nothing from it`;
export const noExtensionsHint = `put each extension executable at ${extensionsFolder}/<name>, in the folder that becomes /opt (ext build and ext pack do)`;

/** The one error for a layer Lambda would start nothing from; `shownAs` names it as the user gave it. */
export function noExtensionsError(shownAs: string): CliError {
  return new CliError(`${shownAs}: ${noExtensionsProblem}`, { code: 'E_LAYER_NO_EXTENSIONS', hint: noExtensionsHint });
}

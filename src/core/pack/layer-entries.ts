/* The built layer folder as zip entries: what ext pack zips, in the order and with the modes it zips them. */
import { lstat, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { CliError, errorMessage } from '../errors.js';
import { isExtensionPath } from '../layer/index.js';
import type { LayerEntry } from '../zip/index.js';

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * Lists a layer directory as zip entries: directories first, then files, each
 * group sorted byte-wise. A file is executable (0755) when any execute bit is
 * set on disk or when it sits directly in extensions/ (Lambda execs those);
 * everything else is 0644. Symbolic links are followed.
 */
export async function collectLayerEntries(layerDirectory: string): Promise<LayerEntry[]> {
  const directories: LayerEntry[] = [];
  const files: LayerEntry[] = [];
  const walk = async (absolute: string, relative: string, depth: number): Promise<void> => {
    if (depth > 64)
      throw new CliError(`${absolute}: folders nest too deeply (a symbolic link loop?)`, {
        code: 'E_ZIP_LAYER_ENTRY_INVALID',
      });
    const children = await readdir(absolute);
    for (const child of children) {
      const childAbsolute = path.join(absolute, child);
      const childRelative = relative === '' ? child : `${relative}/${child}`;
      let info = await lstat(childAbsolute);
      if (info.isSymbolicLink()) {
        try {
          info = await stat(childAbsolute);
        } catch (error) {
          throw new CliError(`${childAbsolute} is a broken symbolic link: ${errorMessage(error)}`, {
            code: 'E_ZIP_LAYER_ENTRY_INVALID',
            hint: 'remove it or point it at a file before packing',
          });
        }
      }
      if (info.isDirectory()) {
        directories.push({ path: childRelative, kind: 'directory', absolutePath: childAbsolute, mode: 0o755, size: 0 });
        await walk(childAbsolute, childRelative, depth + 1);
      } else if (info.isFile()) {
        const launchedByLambda = isExtensionPath(childRelative);
        const executable = launchedByLambda || (info.mode & 0o111) !== 0;
        files.push({
          path: childRelative,
          kind: 'file',
          absolutePath: childAbsolute,
          mode: executable ? 0o755 : 0o644,
          size: info.size,
        });
      } else {
        throw new CliError(`${childAbsolute} is neither a file nor a folder and cannot go into a zip`, {
          code: 'E_ZIP_LAYER_ENTRY_INVALID',
          hint: 'remove it from the layer folder',
        });
      }
    }
  };
  await walk(layerDirectory, '', 0);
  // By entry name, trailing "/" included, as the zip lists them: "K+a/" sorts before "K/".
  directories.sort((a, b) => compareBytes(`${a.path}/`, `${b.path}/`));
  files.sort((a, b) => compareBytes(a.path, b.path));
  return [...directories, ...files];
}

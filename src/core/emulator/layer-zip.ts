import fs from 'node:fs/promises';
import path from 'node:path';
import { isDirectoryEntry, isSymlinkEntry, readEntryData, readZip, unixMode } from '../zip-reader.js';

/**
 * Unpacks a layer zip the way Lambda does into /opt, keeping the Unix modes
 * stored in the external attributes. An entry without Unix attributes (a
 * zip made on Windows, or by a library that drops them) becomes 0644, so a
 * missing exec bit shows up here as the LaunchError it causes on Lambda.
 */
export async function extractLayerZip(zipFile: string, destination: string): Promise<number> {
  const buffer = await fs.readFile(zipFile);
  const archive = readZip(buffer);
  const root = path.resolve(destination);
  let files = 0;
  for (const entry of archive.entries) {
    const target = path.resolve(root, entry.name);
    if (target !== root && !target.startsWith(root + path.sep)) {
      throw new Error(`the zip entry "${entry.name}" points outside the layer`);
    }
    if (isDirectoryEntry(entry)) {
      await fs.mkdir(target, { recursive: true });
      continue;
    }
    await fs.mkdir(path.dirname(target), { recursive: true });
    const data = readEntryData(buffer, entry);
    if (isSymlinkEntry(entry)) {
      const linkTarget = data.toString('utf8');
      const resolved = path.resolve(path.dirname(target), linkTarget);
      if (resolved !== root && !resolved.startsWith(root + path.sep)) {
        throw new Error(`the zip symlink "${entry.name}" points outside the layer (${linkTarget})`);
      }
      await fs.symlink(linkTarget, target);
      continue;
    }
    const mode = (unixMode(entry) ?? 0o644) & 0o777;
    await fs.writeFile(target, data, { mode });
    // writeFile's mode is filtered by the umask; Lambda keeps the stored bits.
    await fs.chmod(target, mode);
    files += 1;
  }
  return files;
}

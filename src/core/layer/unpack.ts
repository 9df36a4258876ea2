import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ErrorCode } from '../error-codes.js';
import { CliError, errorMessage } from '../errors.js';
import { isExtensionPath, noExtensionsError } from './extensions.js';
import { maximumLayerEntries, tooManyEntriesProblem, unzippedLimitBytes, unzippedLimitText } from './limits.js';
import { LayerLinks, pathComponents, unusableNameProblem } from './links.js';
import { readZipFile } from './zip-file.js';
import {
  checkEntryData,
  declaredUncompressedBytes,
  isDirectoryEntry,
  isSymlinkEntry,
  localHeaderMismatches,
  overlappingEntries,
  readZip,
  streamEntryData,
  TooManyEntriesError,
  unixMode,
  ZipFormatError,
  type ZipArchive,
  type ZipEntry,
} from '../zip/index.js';

/** Linux PATH_MAX: no link target is longer. */
const maximumLinkTargetBytes = 4096;

export interface ExtractLayerOptions {
  /** How messages name the zip (the path the user typed); defaults to `zipFile`. */
  label?: string;
  /** Defaults to Lambda's unzipped limit; tests lower it. */
  limitBytes?: number;
  /** Default true: a zip with no file in extensions/ is refused. A function's zip (/var/task) has none. */
  requireExtension?: boolean;
}

/**
 * Unpacks a layer zip the way Lambda does into /opt, keeping the Unix modes
 * stored in the external attributes. An entry without Unix attributes (a
 * zip made on Windows, or by a library that drops them) becomes 0644, so a
 * missing exec bit shows up here as the LaunchError it causes on Lambda.
 *
 * The zip is untrusted. Lambda keeps symbolic links in layers (shared
 * libraries are often `libx.so -> libx.so.1`), so links are kept too, but
 * unpacking never goes through one: every check runs on the archive's own
 * tree before anything is written (no entry may lie under a link, every link
 * must resolve inside the layer, through chains of links), folders and files
 * are created first with exclusive, no-follow opens, links last, and each link
 * is then resolved on disk against the real root. Sizes are counted as bytes
 * inflate (Lambda's unzipped limit) and CRCs checked. On any error, whatever was
 * written is removed. `destination` must be an empty folder of our own (a
 * fresh temp dir): cleanup removes every top-level name the zip holds.
 */
export async function extractLayerZip(
  zipFile: string,
  destination: string,
  options: ExtractLayerOptions = {},
): Promise<number> {
  const label = options.label ?? zipFile;
  const fail = (message: string, hint?: string, code: ErrorCode = 'E_LAYER_ZIP_REFUSED'): CliError =>
    new CliError(`cannot unpack ${label}: ${message}`, { code, ...(hint === undefined ? {} : { hint }) });
  const buffer = await readZipFile(zipFile, label);
  let archive: ZipArchive;
  try {
    archive = readZip(buffer, { maximumEntries: maximumLayerEntries });
  } catch (error) {
    if (error instanceof TooManyEntriesError)
      throw fail(
        tooManyEntriesProblem(error.entryCount)!,
        'trim the layer; Lambda could not hold it unpacked either',
        'E_LAYER_TOO_LARGE',
      );
    if (error instanceof ZipFormatError)
      throw fail(`not a readable zip file: ${error.message}`, undefined, 'E_LAYER_ZIP_UNREADABLE');
    throw error;
  }
  const limitBytes = options.limitBytes ?? unzippedLimitBytes;
  const plan = planExtraction(buffer, archive, limitBytes, fail);
  if (options.requireExtension !== false && !plan.hasExtension) throw noExtensionsError(label);

  const root = await fs.realpath(destination);
  const created = new Set<string>();
  let current: string | undefined;
  const remember = (components: string[]): void => {
    created.add(components[0]!);
  };
  try {
    for (const folder of plan.directories) {
      remember(folder);
      await fs.mkdir(path.join(root, ...folder), { recursive: true });
    }
    let unpacked = 0;
    for (const { entry, components } of plan.files) {
      current = entry.name;
      remember(components);
      const target = path.join(root, ...components);
      await fs.mkdir(path.dirname(target), { recursive: true });
      const mode = (unixMode(entry) ?? 0o644) & 0o777;
      const handle = await fs.open(
        target,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        0o600,
      );
      try {
        await streamEntryData(
          buffer,
          entry,
          (chunk) => handle.write(chunk),
          (count) => {
            unpacked += count;
            if (unpacked > limitBytes) {
              throw fail(
                `it unpacks to more than ${limitBytes} bytes, over Lambda's ${unzippedLimitText} unzipped limit`,
                'trim the layer; Lambda refuses it too',
                'E_LAYER_TOO_LARGE',
              );
            }
          },
        );
        // The open mode is filtered by the umask; Lambda keeps the stored bits.
        await handle.chmod(mode);
      } finally {
        await handle.close();
      }
    }
    for (const { components, target } of plan.links) {
      remember(components);
      const linkPath = path.join(root, ...components);
      await fs.mkdir(path.dirname(linkPath), { recursive: true });
      const folder = await fs.realpath(path.dirname(linkPath));
      if (folder !== root && !folder.startsWith(root + path.sep)) {
        throw fail(`the symlink "${components.join('/')}" would be created outside the layer`);
      }
      // An absolute target means /opt/...; here the layer root plays /opt.
      const onDisk = target.startsWith('/')
        ? path.relative(path.dirname(linkPath), path.join(root, target.slice('/opt'.length))) || '.'
        : target;
      await fs.symlink(onDisk, linkPath);
    }
    for (const { name, components } of plan.links) {
      const resolved = await fs.realpath(path.join(root, ...components)).catch(() => undefined);
      if (resolved !== undefined && resolved !== root && !resolved.startsWith(root + path.sep)) {
        throw fail(`the symlink "${name}" resolves outside the layer`);
      }
    }
    return plan.files.length;
  } catch (error) {
    // rm does not follow links, so this removes only what we created.
    await Promise.all([...created].map((top) => fs.rm(path.join(root, top), { recursive: true, force: true })));
    if (error instanceof CliError) throw error;
    if (error instanceof ZipFormatError) throw fail(`the entry "${current}": ${error.message}`);
    const code = (error as NodeJS.ErrnoException).code;
    // fs messages hold the temp path; the user only knows entry names.
    throw fail(
      code === undefined ? errorMessage(error) : `cannot write the layer (${code})`,
      undefined,
      'E_LAYER_UNPACK_FAILED',
    );
  }
}

interface ExtractionPlan {
  directories: string[][];
  files: { entry: ZipEntry; components: string[] }[];
  links: { name: string; components: string[]; target: string }[];
  /** Whether any entry sits where Lambda starts it (extensions.ts). */
  hasExtension: boolean;
}

/** Every check that needs no disk, so a bad zip is refused before anything is written. */
function planExtraction(
  buffer: Buffer,
  archive: ZipArchive,
  limitBytes: number,
  fail: (message: string, hint?: string, code?: ErrorCode) => CliError,
): ExtractionPlan {
  const overlap = overlappingEntries(archive)[0];
  if (overlap !== undefined) {
    throw fail(
      `the entry "${overlap.entry.name}" shares its bytes with ${overlap.overlaps} (a zip bomb or a corrupt zip)`,
    );
  }
  const declared = declaredUncompressedBytes(archive);
  if (declared > limitBytes) {
    throw fail(
      `its entries declare ${declared} bytes, over Lambda's ${unzippedLimitText} unzipped limit (${limitBytes} bytes)`,
      'trim the layer; Lambda refuses it too',
      'E_LAYER_TOO_LARGE',
    );
  }
  const plan: ExtractionPlan = { directories: [], files: [], links: [], hasExtension: false };
  const seen = new Set<string>();
  const spellings = new Map<string, string>();
  const links = new Map<string, string>();
  const entries: { entry: ZipEntry; name: string; components: string[] }[] = [];
  for (const entry of archive.entries) {
    const quoted = `"${entry.name}"`;
    const mismatches = localHeaderMismatches(entry);
    if (mismatches.length > 0) {
      throw fail(`the local header of ${quoted} disagrees with the central directory (${mismatches.join(', ')})`);
    }
    const problem = unusableNameProblem(entry.name);
    if (problem !== undefined) throw fail(`the entry ${quoted}: ${problem.message}`);
    const components = pathComponents(entry.name);
    const joined = path.join(...components);
    // The last line also catches what only this platform's path rules make an escape (`..\\x` or `C:` on Windows).
    if (
      entry.name.startsWith('/') ||
      components.includes('..') ||
      path.isAbsolute(joined) ||
      joined === '..' ||
      joined.startsWith(`..${path.sep}`)
    ) {
      throw fail(`the zip entry ${quoted} points outside the layer`);
    }
    const name = components.join('/');
    if (name === '') {
      if (isDirectoryEntry(entry)) continue;
      throw fail(`the entry ${quoted} has no file name`);
    }
    if (seen.has(name)) throw fail(`the zip holds "${name}" twice`);
    seen.add(name);
    // On a case-insensitive or normalising filesystem (macOS, Windows) "a" and "A" are one path, so a
    // link could stand in for a folder that the checks below took to be real: refuse every such pair,
    // for the entries and for the folders above them.
    for (let depth = 1; depth <= components.length; depth += 1) {
      const spelling = components.slice(0, depth).join('/');
      const key = spelling.normalize('NFC').toLowerCase();
      const other = spellings.get(key);
      if (other === undefined) spellings.set(key, spelling);
      else if (other !== spelling) {
        throw fail(`the zip holds both "${other}" and "${spelling}", one path on a case-insensitive filesystem`);
      }
    }
    entries.push({ entry, name, components });
    if (isDirectoryEntry(entry) || !isSymlinkEntry(entry)) continue;
    if (entry.uncompressedSize > maximumLinkTargetBytes) throw fail(`the symlink ${quoted} has an overlong target`);
    let checked;
    try {
      checked = checkEntryData(buffer, entry, maximumLinkTargetBytes);
    } catch (error) {
      throw fail(`cannot read the symlink ${quoted}: ${errorMessage(error)}`);
    }
    if (!checked.crcMatches) throw fail(`the symlink ${quoted} does not match its CRC-32: the zip is corrupt`);
    const target = checked.head.toString('utf8');
    if (target === '' || target.includes('\0')) throw fail(`the symlink ${quoted} has an empty or invalid target`);
    links.set(name, target);
  }
  const layerLinks = new LayerLinks(links);
  for (const { entry, name, components } of entries) {
    const above = layerLinks.linkAbove(name);
    if (above !== undefined) {
      throw fail(
        `the entry "${entry.name}" lies inside the symlink "${above}", so unpacking it would write through the link`,
      );
    }
    if (isDirectoryEntry(entry)) {
      plan.directories.push(components);
      continue;
    }
    if (isExtensionPath(components)) plan.hasExtension = true;
    const target = links.get(name);
    if (target === undefined) {
      plan.files.push({ entry, components });
      continue;
    }
    const resolution = layerLinks.resolve(name);
    if (resolution.kind === 'loop') throw fail(`the symlink "${entry.name}" is part of a loop of links`);
    if (resolution.kind === 'outside') {
      throw fail(`the symlink "${entry.name}" points outside the layer (${target})`);
    }
    plan.links.push({ name: entry.name, components, target });
  }
  return plan;
}

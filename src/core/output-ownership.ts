import { createHash } from 'node:crypto';
import { constants, createReadStream, type Dirent } from 'node:fs';
import { access, lstat, opendir, readdir, readlink, realpath } from 'node:fs/promises';
import path from 'node:path';
import { CliError, errorMessage } from './errors.js';
import {
  ensureOutDirectory,
  isErrorCode,
  readBoundedText,
  removeAbandonedTemporaries,
  writeFileAtomic,
} from './fs-utils.js';

/**
 * --out is a folder the user names, so it may hold anything. ext build and
 * ext pack replace only what they wrote themselves, and they can tell by a
 * small marker at the --out root that lists those entries. It sits at the
 * root, not in the per-architecture folders, because those become the zip.
 */
export const ownershipMarkerName = '.ext-output.json';

const markerTool = 'create-lambda-extension';
const markerNote = 'ext build and ext pack replace only the entries listed here; delete this file to make them stop.';
const maximumMarkerBytes = 1024 * 1024;
/** A layer folder we built holds a handful of entries per level; a folder with more is not one of ours. */
const maximumLegacyLayerEntries = 1000;

/** What an --out entry is, so that a folder is never taken for a zip and the other way round. */
export type OutputKind = 'layer' | 'manifest' | 'zip';

interface Marker {
  tool: typeof markerTool;
  note: string;
  entries: string[];
  /**
   * For each entry, the fingerprints of what the toolkit wrote there (the newest first, and the one before,
   * in case a run stopped between recording and renaming). An entry is replaced only while its contents
   * still have one of them: a marker that lists a folder of the user's does not make it ours.
   */
  fingerprints: Record<string, string[]>;
}

/** How many fingerprints an entry keeps: the newest, and the one it replaces. */
const keptFingerprints = 2;

/**
 * The sha256 of what is at `target`: a file's bytes, or a folder's whole tree (each path, its type, mode and
 * size, a file's sha256 and a link's target), read without following links.
 */
export async function outputFingerprint(target: string): Promise<string> {
  const tree = createHash('sha256');
  const describe = async (absolute: string, relative: string): Promise<void> => {
    const info = await lstat(absolute);
    if (info.isSymbolicLink()) tree.update(`link ${relative} ${await readlink(absolute)}\n`);
    else if (info.isFile()) {
      const content = createHash('sha256');
      for await (const chunk of createReadStream(absolute)) content.update(chunk as Buffer);
      tree.update(`file ${relative} ${info.mode & 0o7777} ${info.size} ${content.digest('hex')}\n`);
    } else if (info.isDirectory()) {
      tree.update(`folder ${relative} ${info.mode & 0o7777}\n`);
      for (const name of (await readdir(absolute)).sort())
        await describe(path.join(absolute, name), relative === '' ? name : `${relative}/${name}`);
    } else tree.update(`other ${relative}\n`);
  };
  await describe(target, '');
  return `sha256:${tree.digest('hex')}`;
}

function refuseOut(outDirectory: string, why: string): never {
  throw new CliError(`--out: refusing to write into ${outDirectory}: ${why}`, {
    code: 'E_OUT_REFUSED',
    hint: 'choose an empty or new folder for --out, such as dist (the default)',
  });
}

/** True when `inner` is `outer` or lies below it. */
function isWithin(inner: string, outer: string): boolean {
  const relative = path.relative(outer, inner);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

function refuseDangerousOut(projectDirectory: string, outDirectory: string, shownAs = outDirectory): void {
  if (path.parse(outDirectory).root === outDirectory) refuseOut(shownAs, 'it is the filesystem root');
  if (outDirectory === projectDirectory) refuseOut(shownAs, 'it is the project directory itself');
  if (isWithin(projectDirectory, outDirectory)) refuseOut(shownAs, 'it holds the project directory');
}

function parseMarker(text: string | undefined): Marker | undefined {
  try {
    const value = JSON.parse(text ?? '') as Partial<Marker>;
    if (
      value.tool === markerTool &&
      Array.isArray(value.entries) &&
      value.entries.every((e) => typeof e === 'string')
    ) {
      const fingerprints: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
      const given: unknown = value.fingerprints;
      if (typeof given === 'object' && given !== null && !Array.isArray(given)) {
        for (const [entry, list] of Object.entries(given as Record<string, unknown>)) {
          if (Array.isArray(list) && list.every((item) => typeof item === 'string'))
            fingerprints[entry] = list.slice(0, keptFingerprints);
        }
      }
      return { tool: markerTool, note: markerNote, entries: value.entries, fingerprints };
    }
  } catch {
    // reported by the caller
  }
  return undefined;
}

/**
 * A manifest.json that ext pack wrote has exactly this shape. Recognising it
 * lets a dist/ from before the marker keep working; a user's manifest.json
 * (a web app's, an npm package's) has other keys and is left alone.
 */
export function isPackManifestShape(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort().join(',');
  return (
    keys === 'layers,name,timestamp,version' &&
    typeof record['name'] === 'string' &&
    typeof record['version'] === 'string' &&
    typeof record['timestamp'] === 'string' &&
    Array.isArray(record['layers']) &&
    record['layers'].every(
      (layer: unknown) =>
        typeof layer === 'object' &&
        layer !== null &&
        typeof (layer as Record<string, unknown>)['architecture'] === 'string' &&
        typeof (layer as Record<string, unknown>)['zip'] === 'string' &&
        typeof (layer as Record<string, unknown>)['sha256'] === 'string',
    )
  );
}

async function readPackManifest(file: string): Promise<{ layers: { zip: string }[] } | undefined> {
  try {
    const value = JSON.parse((await readBoundedText(file, maximumMarkerBytes)) ?? '') as unknown;
    return isPackManifestShape(value) ? (value as { layers: { zip: string }[] }) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A layer folder ext build wrote before the marker existed: `extensions/`
 * holding only files, and beside it only bundle folders named after one of
 * those files that hold nothing but index.mjs and its source map. A source
 * tree, a home folder or anything else the user keeps does not look like that.
 */
async function isLegacyLayerFolder(directory: string): Promise<boolean> {
  // Read one level at a time and stop at the first thing out of shape, so a huge user tree costs little.
  const list = async (folder: string): Promise<Dirent[] | undefined> => {
    const entries: Dirent[] = [];
    try {
      for await (const entry of await opendir(folder)) {
        entries.push(entry);
        if (entries.length > maximumLegacyLayerEntries) return undefined;
      }
    } catch {
      return undefined;
    }
    return entries;
  };
  const top = await list(directory);
  if (top === undefined || !top.every((entry) => entry.isDirectory())) return false;
  const extensions = top.some((entry) => entry.name === 'extensions')
    ? await list(path.join(directory, 'extensions'))
    : undefined;
  if (extensions === undefined || extensions.length === 0 || !extensions.every((entry) => entry.isFile())) return false;
  const extensionNames = new Set(extensions.map((entry) => entry.name));
  for (const bundle of top) {
    if (bundle.name === 'extensions') continue;
    if (!extensionNames.has(bundle.name)) return false;
    const files = await list(path.join(directory, bundle.name));
    if (files?.every((entry) => entry.isFile() && ['index.mjs', 'index.mjs.map'].includes(entry.name)) !== true)
      return false;
  }
  return true;
}

/**
 * The --out folder of one build or pack: safe to write into, with the list of
 * entries the toolkit may replace there.
 */
export class OutputDirectory {
  private readonly owned: Set<string>;
  private readonly fingerprints: Record<string, string[]>;
  /** Fingerprints this run recorded: they win over what the marker on disk says. */
  private readonly recorded = new Map<string, string>();
  /** Claimed by this run: kept in the marker even before they exist, since another architecture may still be building. */
  private readonly claimed = new Set<string>();
  private markerWrite: Promise<void> = Promise.resolve();

  private constructor(
    readonly path: string,
    private readonly projectDirectory: string,
    owned: string[],
    fingerprints: Record<string, string[]>,
  ) {
    this.owned = new Set(owned);
    this.fingerprints = fingerprints;
  }

  /**
   * Refuses the filesystem root, the project directory and its ancestors
   * (also through symlinks), creates the folder, and checks that it can be
   * written, so that a read-only --out is one clear error before any work.
   */
  static async open(projectDirectory: string, outDirectory: string): Promise<OutputDirectory> {
    const project = path.resolve(projectDirectory);
    const out = path.resolve(project, outDirectory);
    refuseDangerousOut(project, out);
    await ensureOutDirectory(out);
    const [realProject, realOut] = await Promise.all([realpath(project).catch(() => project), realpath(out)]);
    refuseDangerousOut(realProject, realOut, realOut === out ? out : `${out} (${realOut})`);
    try {
      await access(out, constants.W_OK | constants.X_OK);
    } catch (error) {
      throw new CliError(
        `--out: cannot write into ${out}: ${isErrorCode(error, 'EROFS') ? 'it is on a read-only filesystem' : 'permission denied'}`,
        { code: 'E_OUT_UNWRITABLE', hint: 'pass a writable folder with --out (default: dist in the project)' },
      );
    }
    const markerPath = path.join(out, ownershipMarkerName);
    let owned: string[] = [];
    let fingerprints: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
    try {
      const info = await lstat(markerPath);
      const marker = info.isFile() ? parseMarker(await readBoundedText(markerPath, maximumMarkerBytes)) : undefined;
      if (marker === undefined) {
        throw new CliError(`--out: ${markerPath} was not written by ext build or ext pack`, {
          code: 'E_OUT_NOT_OWNED',
          hint: `choose an empty or new --out, or remove ${markerPath} yourself`,
        });
      }
      owned = marker.entries;
      fingerprints = marker.fingerprints;
    } catch (error) {
      if (error instanceof CliError) throw error;
      if (!isErrorCode(error, 'ENOENT'))
        throw new CliError(`--out: cannot read ${markerPath}: ${errorMessage(error)}`, { code: 'E_OUT_UNREADABLE' });
    }
    // Ours to tidy: what a killed build or pack left behind in it.
    await removeAbandonedTemporaries(out);
    return new OutputDirectory(out, project, owned, fingerprints);
  }

  /**
   * Throws unless `entry` (a name directly in --out) is missing, or is of the
   * expected kind and was written by the toolkit.
   */
  async assertReplaceable(entry: string, kind: OutputKind): Promise<void> {
    const target = path.join(this.path, entry);
    let info;
    try {
      info = await lstat(target);
    } catch (error) {
      if (isErrorCode(error, 'ENOENT')) return;
      throw new CliError(`--out: cannot read ${target}: ${errorMessage(error)}`, { code: 'E_OUT_UNREADABLE' });
    }
    const rightKind = kind === 'layer' ? info.isDirectory() : info.isFile();
    if (rightKind && ((await this.holdsWhatWeWrote(entry, target)) || (await this.isLegacyOutput(target, kind))))
      return;
    throw new CliError(
      `--out: ${target} exists and was not written by ext ${kind === 'layer' ? 'build' : 'pack'} (or was changed since), so it is left alone`,
      {
        code: 'E_OUT_NOT_OWNED',
        hint: `choose an empty or new --out, or remove ${target} yourself if nothing in it is needed`,
      },
    );
  }

  /** Listed in the marker, and its contents are still exactly what the toolkit wrote there. */
  private async holdsWhatWeWrote(entry: string, target: string): Promise<boolean> {
    const expected = this.fingerprints[entry];
    if (!this.owned.has(entry) || expected === undefined || expected.length === 0) return false;
    try {
      return expected.includes(await outputFingerprint(target));
    } catch (error) {
      // A file or folder went away between listing and reading it: another run is replacing the same output.
      if (!isErrorCode(error, 'ENOENT') && !isErrorCode(error, 'ENOTDIR')) throw error;
      throw new CliError(`--out: ${target} changed while it was being checked`, {
        code: 'E_OUT_CHANGED_DURING_RUN',
        hint: 'another ext build or ext pack is writing the same --out; run one at a time, or give each its own --out',
      });
    }
  }

  private async isLegacyOutput(target: string, kind: OutputKind): Promise<boolean> {
    if (kind === 'layer') return isLegacyLayerFolder(target);
    if (kind === 'manifest') return (await readPackManifest(target)) !== undefined;
    // A zip from before the marker is ours if the pack manifest next to it lists it.
    const manifest = await readPackManifest(path.join(this.path, 'manifest.json'));
    return manifest?.layers.some((layer) => path.resolve(this.projectDirectory, layer.zip) === target) === true;
  }

  /**
   * Adds entries to the marker, just before they are created: a run that
   * stops in between leaves a claim on a missing name, never an unlisted
   * output. Earlier runs' entries that no longer exist are dropped, so a
   * claim does not outlive its output.
   */
  record(...items: (string | { entry: string; from: string })[]): Promise<void> {
    const entries = items.map((item) => (typeof item === 'string' ? item : item.entry));
    entries.forEach((entry) => this.claimed.add(entry));
    // What is about to be renamed into place, fingerprinted where it is staged.
    const staged = items.filter((item): item is { entry: string; from: string } => typeof item !== 'string');
    const markerPath = path.join(this.path, ownershipMarkerName);
    const write = async (): Promise<void> => {
      for (const { entry, from } of staged) this.recorded.set(entry, await outputFingerprint(from));
      // Merge with the file, not just what this run read at the start: a build inside this pack, or another run, may have added entries since.
      const onDisk = parseMarker(await readBoundedText(markerPath, maximumMarkerBytes).catch(() => undefined));
      const kept = await Promise.all(
        [...new Set([...this.owned, ...(onDisk?.entries ?? [])])].map(async (entry) =>
          (await lstat(path.join(this.path, entry)).then(
            () => true,
            () => false,
          ))
            ? entry
            : undefined,
        ),
      );
      const next = new Set([...kept.filter((entry) => entry !== undefined), ...this.claimed]);
      this.owned.clear();
      next.forEach((entry) => this.owned.add(entry));
      const fingerprints: Record<string, string[]> = {};
      for (const entry of [...next].sort()) {
        const fresh = this.recorded.get(entry);
        const known = [...(onDisk?.fingerprints[entry] ?? []), ...(this.fingerprints[entry] ?? [])];
        const list = [...new Set(fresh === undefined ? known : [fresh, ...known])].slice(0, keptFingerprints);
        if (list.length > 0) fingerprints[entry] = list;
        this.fingerprints[entry] = list;
      }
      const marker: Marker = { tool: markerTool, note: markerNote, entries: [...next].sort(), fingerprints };
      await writeFileAtomic(markerPath, `${JSON.stringify(marker, null, 2)}\n`);
    };
    this.markerWrite = this.markerWrite.then(write, write);
    return this.markerWrite;
  }
}

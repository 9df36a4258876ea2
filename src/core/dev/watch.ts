import fs from 'node:fs/promises';
import path from 'node:path';
import { CliError } from '../errors.js';
import { runEmulator } from '../emulator/run.js';
import type { EmulatorReport } from '../emulator/types.js';
import type { PreparedFunction } from '../function/index.js';
import { devEvents, functionUsesNode, prepareDevFunction, resolveDevFunction } from './function.js';
import { prepareLayer } from './layer.js';
import { emulatorOptions, type DevOptions, type PreparedLayer } from './options.js';

/** `ext dev --watch`: poll the sources (or the layer), and run the lifecycle again after every change. */

/** What `--watch` polls: the layer (directory or zip) when one is given, else the project. */
function watchRoot(options: DevOptions): string {
  return options.layer === undefined
    ? path.resolve(options.projectDirectory)
    : path.resolve(options.projectDirectory, options.layer);
}

/** Build output, dependencies and VCS data: never sources, and rewritten by the build itself. */
const ignoredDirectories = new Set(['dist', 'node_modules', '.git', 'build']);
/** Editor swap, backup and lock files change while typing, not on save. */
const editorScratch = /(\.sw[a-px]|~)$|^\.#|^#.*#$|^4913$/;

export const watchPollIntervalMs = 300;

/** Path (relative to the root) → what identifies this version of the file. */
type Snapshot = Map<string, string>;

/**
 * Every file under `root` with its mtime, size, inode and mode. Polling
 * stats, not fs.watch: an editor's atomic save (write a temp file, rename
 * it over the original) gives the file a new inode, and Node 20's recursive
 * watcher on Linux keeps watching the old one, so later saves go unseen.
 * Polling sees every save, of a zip too, at the cost of a stat per file.
 */
export async function snapshotFiles(root: string): Promise<Snapshot> {
  const files: Snapshot = new Map();
  const signature = (stat: { mtimeMs: number; size: number; ino: number; mode: number }) =>
    `${stat.mtimeMs}:${stat.size}:${stat.ino}:${stat.mode}`;
  const rootStat = await fs.stat(root).catch(() => undefined);
  if (rootStat === undefined) return files;
  if (!rootStat.isDirectory()) {
    files.set(path.basename(root), signature(rootStat));
    return files;
  }
  const walk = async (directory: string, relative: string): Promise<void> => {
    const entries = await fs.readdir(directory, { withFileTypes: true }).catch(() => []);
    await Promise.all(
      entries.map(async (entry) => {
        const name = relative === '' ? entry.name : `${relative}/${entry.name}`;
        if (entry.isDirectory()) {
          if (!ignoredDirectories.has(entry.name)) await walk(path.join(directory, entry.name), name);
          return;
        }
        if (editorScratch.test(entry.name)) return;
        // stat, not lstat: a symlinked file changes when its target does.
        const stat = await fs.stat(path.join(directory, entry.name)).catch(() => undefined);
        if (stat !== undefined) files.set(name, signature(stat));
      }),
    );
  };
  await walk(root, '');
  return files;
}

/** The first path that differs between two snapshots, or undefined. */
export function firstDifference(before: Snapshot, after: Snapshot): string | undefined {
  for (const [file, signature] of after) {
    if (before.get(file) !== signature) return file;
  }
  for (const file of before.keys()) {
    if (!after.has(file)) return file;
  }
  return undefined;
}

/**
 * Polls `root` and calls `onChange` once the tree has changed and then held
 * still for one poll, so a save that writes a temp file and renames it (or a
 * `git checkout` touching many files) is one change, not several.
 */
export function pollForChanges(
  root: string,
  onChange: (file: string) => void,
  intervalMs = watchPollIntervalMs,
): { ready: Promise<void>; close(): void } {
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let previous: Snapshot = new Map();
  let settling: string | undefined;
  const poll = async (): Promise<void> => {
    const current = await snapshotFiles(root);
    if (closed) return;
    const changed = firstDifference(previous, current);
    previous = current;
    if (changed !== undefined) {
      // The latest name: after a temp-file-and-rename save, that is the saved file, not the temp one.
      settling = changed;
    } else if (settling !== undefined) {
      const file = settling;
      settling = undefined;
      onChange(file);
    }
    if (!closed) timer = setTimeout(() => void poll(), intervalMs);
  };
  const ready = snapshotFiles(root).then((first) => {
    previous = first;
    if (!closed) timer = setTimeout(() => void poll(), intervalMs);
  });
  return {
    ready,
    close: () => {
      closed = true;
      clearTimeout(timer);
    },
  };
}

/** Whether polling `root` sees changes to `file`: it lies under it, in no folder the poll skips. */
export function watchedUnder(root: string, file: string): boolean {
  const relative = path.relative(root, file);
  if (relative === '') return true;
  if (relative.startsWith('..') || path.isAbsolute(relative)) return false;
  return !relative.split(path.sep).some((part) => ignoredDirectories.has(part));
}

/**
 * Runs a lifecycle, then again after every change until the signal aborts.
 * A change during a run cuts it short: the current invoke finishes, a
 * normal Shutdown runs, then the new layer starts.
 */
export async function watchDev(options: DevOptions & { onReport: (report: EmulatorReport) => void }): Promise<void> {
  const outer = options.signal;
  // An object, not a let: the poller's callback sets it between the loop's reads.
  const pending = { change: false };
  let wake: (() => void) | undefined;
  let cycle: AbortController | undefined;

  // Once: the events may come from stdin, which can be read only once.
  const request = await resolveDevFunction(options);
  const events = await devEvents(request);
  const onChange = (file: string) => {
    pending.change = true;
    options.onStatus?.(`change detected (${file}); restarting…`, 'progress');
    cycle?.abort();
    wake?.();
  };
  // Watching starts before the first build, so a save during that build is not missed.
  const root = watchRoot(options);
  const watchers = [pollForChanges(root, onChange)];
  // The function's code too, when what is watched already does not hold it (outside, or in dist/ or build/).
  const functionPath = request === undefined ? undefined : path.resolve(request.baseDirectory, request.path);
  if (functionPath !== undefined && !watchedUnder(root, functionPath)) {
    watchers.push(pollForChanges(functionPath, onChange));
  }
  const watcher = {
    ready: Promise.all(watchers.map((each) => each.ready)),
    close: () => watchers.forEach((each) => each.close()),
  };
  const stopped = new Promise<void>((resolve) => {
    if (outer?.aborted) resolve();
    outer?.addEventListener('abort', () => {
      cycle?.abort();
      wake?.();
      resolve();
    });
  });

  try {
    await watcher.ready;
    while (!outer?.aborted) {
      pending.change = false;
      cycle = new AbortController();
      let layer: PreparedLayer | undefined;
      let prepared: PreparedFunction | undefined;
      try {
        layer = await prepareLayer(options, true, functionUsesNode(request));
        if (request !== undefined) prepared = await prepareDevFunction(request, options, layer.directory);
        // A change during the build makes this layer stale already: build again rather than run it.
        if (!cycle.signal.aborted) {
          options.onReport(await runEmulator(emulatorOptions(options, layer, cycle.signal, { prepared, events })));
        }
      } catch (error) {
        if (!(error instanceof CliError)) throw error;
        options.onStatus?.(
          `error: ${error.message}${error.hint === undefined ? '' : `\nhint: ${error.hint}`}`,
          'error',
        );
      } finally {
        await prepared?.cleanup();
        await layer?.cleanup();
      }
      if (outer?.aborted) break;
      if (!pending.change) {
        options.onStatus?.('watching for changes (Ctrl-C to stop)…', 'progress');
        await Promise.race([new Promise<void>((resolve) => (wake = resolve)), stopped]);
        wake = undefined;
      }
    }
  } finally {
    watcher.close();
  }
}

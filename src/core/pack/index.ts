/*
 * ext pack: builds (unless --no-build), then zips each architecture's layer into a reproducible zip that
 * it verifies before keeping (verify.ts), and records them in dist/manifest.json (manifest.ts).
 */
import { readdir, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  applyConfigOverrides,
  configFileName,
  findProjectDirectory,
  readConfig,
  standaloneNodeVersion,
  type ConfigOverrides,
} from '../config.js';
import { CancelledError, CliError, errorMessage, usageError } from '../errors.js';
import { isErrorCode, temporarySibling } from '../fs-utils.js';
import { architectures as allArchitectures, type Architecture } from '../layer/index.js';
import { OutputDirectory } from '../output-ownership.js';
import { sourcesDigest } from '../source-digest.js';
// standalone/runtimes, not the index: every pack reports runtimes, and the index loads npm, tar and hashing.
import { standaloneCompatibilityNote, standaloneCompatibleRuntimes } from '../standalone/runtimes.js';
import { resolveZipTimestamp, writeLayerZip } from '../zip/index.js';
import { collectLayerEntries } from './layer-entries.js';
import { manifestFileName, mergedManifest, relativeTo, zipFileName, type PackedLayer } from './manifest.js';
import { requireBuiltLayer, requireBundledNode, verifyZip } from './verify.js';

export { collectLayerEntries } from './layer-entries.js';
export { zipContractProblems } from './verify.js';
export type { PackedLayer, PackManifest } from './manifest.js';

export interface PackOptions extends ConfigOverrides {
  projectDirectory: string;
  /** Defaults to the config's list. */
  architectures?: Architecture[];
  /** Relative to the project; default "dist". */
  outDirectory?: string;
  /** Zip what `ext build` already produced instead of building first. */
  noBuild?: boolean;
  /** Defaults to process.env.SOURCE_DATE_EPOCH, the reproducible-builds convention. */
  sourceDateEpoch?: string;
  /** Aborting removes temp files and rejects with CancelledError; finished zips stay as they were. */
  signal?: AbortSignal;
  onProgress?: (event: PackProgressEvent) => void;
  /** Build tool output (go's compiler messages), streamed through. */
  onOutput?: (chunk: string) => void;
  /** Standalone layers: where node binaries are cached; default the CLI's cache folder. */
  nodeCacheDirectory?: string;
  /** TypeScript: run the project's tsc while building (see build/typecheck.ts); default true. */
  typecheck?: boolean;
}

/** `build` is reported as each architecture's build starts (only when pack builds). */
export interface PackProgressEvent {
  phase: 'build' | 'zip' | 'verify' | 'done';
  architecture: Architecture;
}

export interface PackResult {
  name: string;
  version: string;
  outDirectory: string;
  /** Relative to the project directory. */
  manifest: string;
  manifestPath: string;
  timestamp: string;
  layers: PackedLayer[];
  /** Things the user should know that are not problems (e.g. a SOURCE_DATE_EPOCH moved to 1980). */
  notes: string[];
  /** Set for a standalone TypeScript layer: the exact node version bundled in every zip. */
  standalone?: { nodeVersion: string };
}

/**
 * The zips `ext pack` makes for the project at or above `start`, one per
 * architecture of lambda-extension.json, for `ext inspect` with no argument.
 * Missing ones are an error that says to pack; zips in dist/ named after
 * another extension (left from before a rename) are warnings, never checked
 * in place of the project's own.
 */
export async function projectZips(start: string): Promise<{ zips: string[]; warnings: string[] }> {
  const projectDirectory = findProjectDirectory(start);
  if (projectDirectory === undefined) {
    throw usageError(
      'E_USAGE_MISSING_ARGUMENT',
      'ext inspect: missing the layer zip to check',
      `for example: ext inspect dist/my-extension-arm64.zip, or run it in a project (no ${configFileName} here or above)`,
    );
  }
  const config = await readConfig(projectDirectory);
  const dist = path.join(projectDirectory, 'dist');
  const zips = config.architectures.map((architecture) => path.join(dist, zipFileName(config.name, architecture)));
  const missing = zips.filter((zip) => !existsSync(zip));
  if (missing.length > 0) {
    throw new CliError(
      `${missing.map((zip) => path.relative(start, zip)).join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist: ${configFileName} names "${config.name}" for ${config.architectures.join(', ')}`,
      { code: 'E_PACK_ZIPS_MISSING', hint: 'run ext pack (npm run pack) first' },
    );
  }
  const others = (await readdir(dist).catch(() => [] as string[]))
    .filter((file) => file.endsWith('.zip') && !zips.includes(path.join(dist, file)))
    .sort();
  const warnings = others.map(
    (file) =>
      `${path.relative(start, path.join(dist, file))} is not a layer of "${config.name}" (${configFileName}): left from before a rename? it is not checked; delete it`,
  );
  return { zips, warnings };
}

export async function pack(options: PackOptions): Promise<PackResult> {
  const projectDirectory = path.resolve(options.projectDirectory);
  const config = applyConfigOverrides(await readConfig(projectDirectory), options);
  const architectures = options.architectures ?? config.architectures;
  const { timestamp, note } = resolveZipTimestamp(options.sourceDateEpoch ?? process.env['SOURCE_DATE_EPOCH']);
  const notes = note === undefined ? [] : [note];
  const signal = options.signal;
  const checkCancelled = (): void => {
    if (signal?.aborted === true) throw new CancelledError();
  };

  // Before building, so that a bad --out, or one holding files we did not write, fails fast.
  const output = await OutputDirectory.open(projectDirectory, options.outDirectory ?? 'dist');
  const outDirectory = output.path;
  await output.assertReplaceable(manifestFileName, 'manifest');
  for (const architecture of architectures)
    await output.assertReplaceable(zipFileName(config.name, architecture), 'zip');
  // Before building: an edit made while the build runs leaves the zips stale, and ext publish says so.
  const sourcesSha256 = await sourcesDigest(projectDirectory, outDirectory);
  let name = config.name;
  let version = config.version;
  let standaloneVersion: string | undefined;
  const layerDirectories = new Map<Architecture, string>(
    architectures.map((architecture) => [architecture, path.join(outDirectory, architecture)]),
  );
  if (options.noBuild !== true) {
    const onProgress = options.onProgress;
    const { build } = await import('../build/index.js');
    const built = await build({
      // Read and checked above, overrides applied: build does not read the file again.
      config,
      nodeCacheDirectory: options.nodeCacheDirectory,
      typecheck: options.typecheck,
      projectDirectory,
      architectures,
      outDirectory,
      ...(onProgress === undefined
        ? {}
        : {
            onProgress: (event) =>
              event.phase === 'start' && onProgress({ phase: 'build', architecture: event.architecture }),
          }),
      ...(options.onOutput === undefined ? {} : { onOutput: options.onOutput }),
      signal,
    });
    name = built.name;
    version = built.version;
    for (const layer of built.layers) layerDirectories.set(layer.architecture, layer.directory);
    if (built.standalone !== undefined) {
      standaloneVersion = built.standalone.nodeVersion;
      // The bundled node's size and stripping; the compatibility line is said once, below.
      notes.push(...built.notes.filter((line) => !line.startsWith('standalone layer: ')));
    }
    checkCancelled();
  } else {
    // Zipping an earlier build: the exact version is the one the cache resolved for it, asked offline.
    const requested = config.language === 'ts' ? standaloneNodeVersion(config) : undefined;
    if (requested !== undefined) {
      const { resolveNodeVersion } = await import('../standalone/index.js');
      const resolved = await resolveNodeVersion(requested, {
        offline: true,
        cacheDirectory: options.nodeCacheDirectory,
      });
      standaloneVersion = resolved.version;
    }
  }
  if (standaloneVersion !== undefined) {
    notes.push(
      `standalone layer (node ${standaloneVersion}): ${standaloneCompatibilityNote}; dist/manifest.json lists them as compatibleRuntimes for ext publish`,
    );
  }

  const temporaryFiles: string[] = [];
  const cleanUp = async (): Promise<void> => {
    await Promise.all(temporaryFiles.map((file) => rm(file, { force: true })));
  };
  try {
    const settled = await Promise.allSettled(
      architectures.map(async (architecture) => {
        const layerDirectory = layerDirectories.get(architecture)!;
        await requireBuiltLayer(layerDirectory, outDirectory, projectDirectory);
        const zipPath = path.join(outDirectory, zipFileName(name, architecture));
        const temporaryPath = temporarySibling(zipPath);
        temporaryFiles.push(temporaryPath);
        options.onProgress?.({ phase: 'zip', architecture });
        try {
          const entries = await collectLayerEntries(layerDirectory);
          await writeLayerZip(entries, temporaryPath, signal === undefined ? { timestamp } : { timestamp, signal });
        } catch (error) {
          checkCancelled();
          if (error instanceof CliError) throw error;
          // A file that vanished mid-zip: another build replaced the layer folder under us.
          if (isErrorCode(error, 'ENOENT')) {
            throw new CliError(
              `${relativeTo(projectDirectory, layerDirectory)} changed while it was being zipped: ${errorMessage(error)}`,
              {
                code: 'E_PACK_LAYER_CHANGED',
                hint: 'run one ext build or ext pack at a time on the same --out, then pack again',
              },
            );
          }
          throw new CliError(`cannot write ${relativeTo(projectDirectory, zipPath)}: ${errorMessage(error)}`, {
            code: 'E_PACK_WRITE_FAILED',
            hint: 'check that --out points at a writable folder with free space',
          });
        }
        checkCancelled();
        options.onProgress?.({ phase: 'verify', architecture });
        const layer = await verifyZip(temporaryPath, zipPath, architecture, timestamp, projectDirectory);
        if (standaloneVersion !== undefined) {
          await requireBundledNode(layerDirectory, name, projectDirectory);
          layer.compatibleRuntimes = [...standaloneCompatibleRuntimes];
        }
        return { layer, temporaryPath };
      }),
    );
    checkCancelled();
    // Wait for every architecture before failing, so that no zip is still being written during clean-up.
    const failure = settled.find((outcome) => outcome.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
    const staged = settled.map(
      (outcome) => (outcome as PromiseFulfilledResult<{ layer: PackedLayer; temporaryPath: string }>).value,
    );
    // Only now, with every zip verified, replace the previous ones.
    await output.record(
      ...staged.map(({ layer, temporaryPath }) => ({ entry: path.basename(layer.zipPath), from: temporaryPath })),
      manifestFileName,
    );
    for (const { layer, temporaryPath } of staged) {
      await rename(temporaryPath, layer.zipPath);
      options.onProgress?.({ phase: 'done', architecture: layer.architecture });
    }
    const layers = staged.map(({ layer }) => layer);
    // Zips named after another extension (the name changed in lambda-extension.json): say so, once per pack.
    const ours = new Set(config.architectures.map((architecture) => zipFileName(name, architecture)));
    for (const file of (await readdir(outDirectory))
      .filter((entry) => entry.endsWith('.zip') && !ours.has(entry))
      .sort()) {
      if (!allArchitectures.some((architecture) => file.endsWith(`-${architecture}.zip`))) continue;
      notes.push(
        `${relativeTo(projectDirectory, path.join(outDirectory, file))} is not a layer of "${name}": left from before a rename? delete it`,
      );
    }
    const manifestPath = path.join(outDirectory, manifestFileName);
    const manifest = await mergedManifest(
      manifestPath,
      { name, version, timestamp: timestamp.toISOString(), layers, nodeVersion: standaloneVersion, sourcesSha256 },
      projectDirectory,
    );
    const manifestTemporary = temporarySibling(manifestPath);
    temporaryFiles.push(manifestTemporary);
    await writeFile(manifestTemporary, `${JSON.stringify(manifest, null, 2)}\n`);
    await output.record({ entry: manifestFileName, from: manifestTemporary });
    await rename(manifestTemporary, manifestPath);
    return {
      name,
      version,
      outDirectory,
      manifest: relativeTo(projectDirectory, manifestPath),
      manifestPath,
      timestamp: timestamp.toISOString(),
      layers,
      notes,
      ...(standaloneVersion === undefined ? {} : { standalone: { nodeVersion: standaloneVersion } }),
    };
  } finally {
    await cleanUp();
  }
}

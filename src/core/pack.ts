import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { architectures as allArchitectures, type Architecture } from './layer/architectures.js';
import { extensionsFolder } from './layer/extensions.js';
import {
  applyConfigOverrides,
  configFileName,
  findProjectDirectory,
  readConfig,
  standaloneNodeVersion,
  type ConfigOverrides,
} from './config.js';
import { CancelledError, CliError, errorMessage } from './errors.js';
import { inspectZipBuffer, type InspectFinding } from './inspect.js';
import { collectLayerEntries, dosDateTime, resolveZipTimestamp, writeLayerZip } from './zip-writer.js';
import { readZip } from './zip-reader.js';
import { isErrorCode, temporarySibling } from './fs-utils.js';
import { OutputDirectory } from './output-ownership.js';
import { sourcesDigest } from './source-digest.js';
import { bundledNodePath } from './standalone/layout.js';
import { standaloneCompatibilityNote, standaloneCompatibleRuntimes } from './standalone/runtimes.js';

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
  /** TypeScript: run the project's tsc while building (see typecheck.ts); default true. */
  typecheck?: boolean;
}

/** `build` is reported as each architecture's build starts (only when pack builds). */
export interface PackProgressEvent {
  phase: 'build' | 'zip' | 'verify' | 'done';
  architecture: Architecture;
}

export interface PackedLayer {
  architecture: Architecture;
  compatibleArchitectures: Architecture[];
  /** Standalone layers only: the Amazon Linux 2023 runtimes its bundled node runs on, for PublishLayerVersion. */
  compatibleRuntimes?: string[];
  /** Relative to the project directory, "/"-separated. */
  zip: string;
  zipPath: string;
  sha256: string;
  /** What Lambda reports as CodeSha256 for the layer version: base64 of the raw SHA-256. */
  codeSha256: string;
  zippedBytes: number;
  unzippedBytes: number;
  files: number;
  /** Verification warnings (errors fail the pack). */
  warnings: InspectFinding[];
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

const manifestFileName = 'manifest.json';

function zipFileName(name: string, architecture: Architecture): string {
  return `${name}-${architecture}.zip`;
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
    throw new CliError('ext inspect: missing the layer zip to check', {
      exitCode: 2,
      hint: `for example: ext inspect dist/my-extension-arm64.zip, or run it in a project (no ${configFileName} here or above)`,
    });
  }
  const config = await readConfig(projectDirectory);
  const dist = path.join(projectDirectory, 'dist');
  const zips = config.architectures.map((architecture) => path.join(dist, zipFileName(config.name, architecture)));
  const missing = zips.filter((zip) => !existsSync(zip));
  if (missing.length > 0) {
    throw new CliError(
      `${missing.map((zip) => path.relative(start, zip)).join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist: ${configFileName} names "${config.name}" for ${config.architectures.join(', ')}`,
      { hint: 'run ext pack (npm run pack) first' },
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
    const { build } = await import('./build.js');
    const built = await build({
      name: options.name,
      entry: options.entry,
      version: options.version,
      sourcemap: options.sourcemap,
      standalone: options.standalone,
      nodeVersion: options.nodeVersion,
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
      const { resolveNodeVersion } = await import('./standalone/index.js');
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
              { hint: 'run one ext build or ext pack at a time on the same --out, then pack again' },
            );
          }
          throw new CliError(`cannot write ${relativeTo(projectDirectory, zipPath)}: ${errorMessage(error)}`, {
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

/** A standalone config zipped with --no-build from a layer built without its node would fail on Lambda. */
async function requireBundledNode(layerDirectory: string, name: string, projectDirectory: string): Promise<void> {
  const node = path.join(layerDirectory, bundledNodePath(name));
  const present = await stat(node).then(
    (info) => info.isFile(),
    () => false,
  );
  if (!present) {
    throw new CliError(
      `${relativeTo(projectDirectory, node)} is missing, but lambda-extension.json asks for a standalone layer`,
      { hint: 'run ext build (or ext pack without --no-build) so the layer gets its node binary' },
    );
  }
}

async function requireBuiltLayer(
  layerDirectory: string,
  outDirectory: string,
  projectDirectory: string,
): Promise<void> {
  try {
    if ((await stat(path.join(layerDirectory, extensionsFolder))).isDirectory()) return;
  } catch {
    // reported below
  }
  throw new CliError(
    `nothing built in ${relativeTo(projectDirectory, layerDirectory)}: there is no extensions/ folder`,
    {
      hint: `run ext build first${outDirectory === path.join(projectDirectory, 'dist') ? '' : ` --out ${relativeTo(projectDirectory, outDirectory)}`}, or drop --no-build`,
    },
  );
}

/** Reads the temp zip back and applies ext inspect's checks plus our own reproducibility contract. */
async function verifyZip(
  temporaryPath: string,
  zipPath: string,
  architecture: Architecture,
  timestamp: Date,
  projectDirectory: string,
): Promise<PackedLayer> {
  const buffer = await readFile(temporaryPath);
  const zip = relativeTo(projectDirectory, zipPath);
  const report = inspectZipBuffer(buffer, zip, { architecture });
  const problems = [
    ...report.findings
      .filter((finding) => finding.severity === 'error')
      .map((finding) => `${finding.path === undefined ? '' : `${finding.path}: `}${finding.message} [${finding.code}]`),
    ...zipContractProblems(buffer, timestamp),
  ];
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).join('; ');
    throw new CliError(
      `${zip} failed verification, so it was not written (${problems.length} problem${problems.length === 1 ? '' : 's'}): ${shown}${problems.length > 5 ? '; ...' : ''}`,
      {
        hint: `fix the layer in ${relativeTo(projectDirectory, path.join(path.dirname(zipPath), architecture))} and pack again; the previous zip is unchanged`,
      },
    );
  }
  const digest = createHash('sha256').update(buffer).digest();
  return {
    architecture,
    compatibleArchitectures: [architecture],
    zip,
    zipPath,
    sha256: digest.toString('hex'),
    codeSha256: digest.toString('base64'),
    zippedBytes: buffer.length,
    unzippedBytes: report.unzippedBytes,
    files: report.files,
    // A standalone layer's runtime requirement is said once, as a pack note, not as a warning per zip.
    warnings: report.findings.filter(
      (finding) => finding.severity === 'warning' && finding.code !== 'bundled-node-al2023',
    ),
  };
}

/** What makes our zips reproducible and Lambda-safe, checked on the bytes we wrote. */
export function zipContractProblems(buffer: Buffer, timestamp: Date): string[] {
  const problems: string[] = [];
  const expected = dosDateTime(timestamp);
  const archive = readZip(buffer);
  let seenFile = false;
  let previous: { directory: boolean; name: string } | undefined;
  for (const entry of archive.entries) {
    const directory = entry.name.endsWith('/');
    if (entry.platform !== 3) problems.push(`${entry.name}: made by platform ${entry.platform}, not Unix`);
    if (entry.dosDate !== expected.date || entry.dosTime !== expected.time)
      problems.push(`${entry.name}: timestamp is not the fixed one`);
    if (entry.extraFields.length > 0 || entry.localExtraFields.length > 0)
      problems.push(`${entry.name}: has extra fields`);
    const mode = entry.externalAttributes >>> 16;
    const permissions = mode & 0o7777;
    if (permissions !== 0o755 && permissions !== 0o644)
      problems.push(`${entry.name}: mode ${permissions.toString(8)} is neither 0755 nor 0644`);
    if (directory && seenFile) problems.push(`${entry.name}: directory after files`);
    if (
      previous !== undefined &&
      previous.directory === directory &&
      Buffer.compare(Buffer.from(previous.name), Buffer.from(entry.name)) >= 0
    ) {
      problems.push(`${entry.name}: entries are not sorted`);
    }
    seenFile ||= !directory;
    previous = { directory, name: entry.name };
  }
  return problems;
}

interface ManifestLayer {
  architecture: Architecture;
  compatibleArchitectures: Architecture[];
  compatibleRuntimes?: string[];
  zip: string;
  sha256: string;
  codeSha256: string;
  zippedBytes: number;
  unzippedBytes: number;
  files: number;
}

export interface PackManifest {
  name: string;
  version: string;
  timestamp: string;
  /** Standalone layers: true, with the exact node version every zip carries. */
  standalone?: boolean;
  nodeVersion?: string;
  /** sha256 of the sources the zips were built from (see source-digest.ts); ext publish refuses stale zips. */
  sourcesSha256?: string;
  layers: ManifestLayer[];
}

/**
 * Packing one architecture must not drop the other from the manifest, but a
 * stale entry must not survive either: keep another architecture's entry only
 * when it is for the same name and version and its zip still has that hash.
 */
async function mergedManifest(
  manifestPath: string,
  current: {
    name: string;
    version: string;
    timestamp: string;
    layers: PackedLayer[];
    nodeVersion?: string | undefined;
    sourcesSha256: string | undefined;
  },
  projectDirectory: string,
): Promise<PackManifest> {
  const layers: ManifestLayer[] = current.layers.map((layer) => ({
    architecture: layer.architecture,
    compatibleArchitectures: layer.compatibleArchitectures,
    ...(layer.compatibleRuntimes === undefined ? {} : { compatibleRuntimes: layer.compatibleRuntimes }),
    zip: layer.zip,
    sha256: layer.sha256,
    codeSha256: layer.codeSha256,
    zippedBytes: layer.zippedBytes,
    unzippedBytes: layer.unzippedBytes,
    files: layer.files,
  }));
  try {
    const previous = JSON.parse(await readFile(manifestPath, 'utf8')) as Partial<PackManifest>;
    if (
      previous.name === current.name &&
      previous.version === current.version &&
      previous.timestamp === current.timestamp &&
      previous.nodeVersion === current.nodeVersion &&
      previous.sourcesSha256 === current.sourcesSha256 &&
      Array.isArray(previous.layers)
    ) {
      for (const layer of previous.layers) {
        if (layers.some((kept) => kept.architecture === layer.architecture) || typeof layer.zip !== 'string') continue;
        const bytes = await readFile(path.resolve(projectDirectory, layer.zip)).catch(() => undefined);
        if (bytes !== undefined && createHash('sha256').update(bytes).digest('hex') === layer.sha256)
          layers.push(layer);
      }
    }
  } catch {
    // No previous manifest, or an unreadable one: write a fresh manifest.
  }
  layers.sort((a, b) => allArchitectures.indexOf(a.architecture) - allArchitectures.indexOf(b.architecture));
  // Key order matters to readers of the file; keep it fixed.
  const standalone = current.nodeVersion === undefined ? {} : { standalone: true, nodeVersion: current.nodeVersion };
  const sources = current.sourcesSha256 === undefined ? {} : { sourcesSha256: current.sourcesSha256 };
  return {
    name: current.name,
    version: current.version,
    timestamp: current.timestamp,
    ...standalone,
    ...sources,
    layers,
  };
}

function relativeTo(projectDirectory: string, target: string): string {
  const relative = path.relative(projectDirectory, target);
  return relative.startsWith('..') || path.isAbsolute(relative) ? target : relative.split(path.sep).join('/');
}

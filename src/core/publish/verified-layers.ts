import { createHash } from 'node:crypto';
import { access, realpath } from 'node:fs/promises';
import path from 'node:path';
import { isArchitecture, maximumZipFileBytes, unzippedLimitText, type Architecture } from '../layer/index.js';
import { CliError, errorMessage } from '../errors.js';
import { readRegularFileUpTo } from '../fs-utils.js';
import { inspectZipBuffer } from '../inspect/index.js';
import type { PackManifest } from '../pack/index.js';
import { sourcesDigest } from '../source-digest.js';
import { printableLine } from '../text.js';

/** One zip from the manifest, read once and checked: these bytes are the ones uploaded. */
export interface VerifiedLayer {
  architecture: Architecture;
  compatibleArchitectures: Architecture[];
  /** From the manifest (standalone layers): the runtimes the layer's own node runs on. */
  compatibleRuntimes?: string[];
  zip: string;
  bytes: Buffer;
  sha256: string;
  codeSha256: string;
}

export interface VerifiedManifest {
  name: string;
  version: string;
  manifestPath: string;
  layers: VerifiedLayer[];
  /** Every architecture's CodeSha256 in the manifest, also those not published now. */
  listedCodeSha256: Map<Architecture, string>;
}

const packHint = (outFlag: string): string => `run ext pack${outFlag} to rebuild the zips and dist/manifest.json`;

/** ext pack writes a manifest of a few kilobytes; anything near this is not one. */
const maximumManifestBytes = 1024 * 1024;

export interface ManifestChecks {
  /** Publish zips that are older than the sources (the manifest's source digest differs). */
  allowStale?: boolean;
}

/**
 * Reads `<out>/manifest.json` and every zip it lists for the requested
 * architectures. A zip that is missing or whose sha256 is not the manifest's
 * (rebuilt by hand, half-copied, stale) is refused: nothing unverified goes out.
 */
export async function readVerifiedManifest(
  projectDirectory: string,
  outDirectory: string,
  architectures: readonly Architecture[] | undefined,
  checks: ManifestChecks = {},
): Promise<VerifiedManifest> {
  const manifestPath = path.join(outDirectory, 'manifest.json');
  const shown = displayPath(projectDirectory, manifestPath);
  const outFlag =
    outDirectory === path.join(projectDirectory, 'dist') ? '' : ` --out ${displayPath(projectDirectory, outDirectory)}`;
  let text: string;
  try {
    text = (
      await readBoundedRegularFile(manifestPath, shown, maximumManifestBytes, 'E_PUBLISH_MANIFEST_INVALID')
    ).toString('utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    if (missing) await requireProject(projectDirectory);
    if (error instanceof CliError) throw error;
    throw new CliError(
      `${shown}: ${missing ? 'not found, so there is nothing verified to publish' : errorMessage(error)}`,
      {
        code: missing ? 'E_PUBLISH_MANIFEST_MISSING' : 'E_PUBLISH_MANIFEST_INVALID',
        hint: missing ? packHint(outFlag) : `check that ${shown} is readable`,
      },
    );
  }
  let manifest: Partial<PackManifest>;
  try {
    manifest = JSON.parse(text) as Partial<PackManifest>;
  } catch (error) {
    throw new CliError(`${shown}: not valid JSON (${errorMessage(error)})`, {
      code: 'E_PUBLISH_MANIFEST_INVALID',
      hint: packHint(outFlag),
    });
  }
  if (
    typeof manifest.name !== 'string' ||
    typeof manifest.version !== 'string' ||
    !Array.isArray(manifest.layers) ||
    !manifest.layers.every(
      (layer) =>
        typeof layer === 'object' &&
        layer !== null &&
        typeof layer.zip === 'string' &&
        typeof layer.sha256 === 'string' &&
        typeof layer.architecture === 'string' &&
        isArchitecture(layer.architecture),
    )
  ) {
    throw new CliError(`${shown}: not a manifest written by ext pack (name, version or layers missing)`, {
      code: 'E_PUBLISH_MANIFEST_INVALID',
      hint: packHint(outFlag),
    });
  }
  const listed = manifest.layers;
  const wanted = architectures ?? listed.map((layer) => layer.architecture);
  const missing = wanted.filter((architecture) => !listed.some((layer) => layer.architecture === architecture));
  if (missing.length > 0) {
    throw new CliError(`--arch: ${shown} has no ${missing.join(' or ')} zip`, {
      code: 'E_PUBLISH_ARCH_NOT_PACKED',
      hint: `run ext pack --arch ${missing.join(',')}${outFlag}, or publish only ${listed.map((layer) => layer.architecture).join(', ') || 'what was packed'}`,
    });
  }
  if (typeof manifest.sourcesSha256 === 'string' && checks.allowStale !== true) {
    const current = await sourcesDigest(projectDirectory, outDirectory);
    if (current !== undefined && current !== manifest.sourcesSha256) {
      throw new CliError(
        `${shown}: the sources changed after ext pack made these zips, so they are stale; run ext pack${outFlag} first`,
        {
          code: 'E_PUBLISH_STALE',
          exitCode: 1,
          hint: `run ext pack${outFlag}, then ext publish; --allow-stale publishes the older zips anyway`,
        },
      );
    }
  }
  // The zips must lie in the output folder itself, symbolic links resolved: a manifest can name any path.
  const outReal = await realpath(outDirectory).catch(() => outDirectory);
  const layers: VerifiedLayer[] = [];
  // One at a time: each zip is read whole and inspected, so memory holds one.
  for (const architecture of wanted) {
    const entry = listed.find((layer) => layer.architecture === architecture)!;
    const zipLabel = printableLine(entry.zip, 200);
    const zipPath = path.resolve(projectDirectory, entry.zip);
    let bytes: Buffer;
    try {
      const real = await realpath(zipPath);
      const inside = path.relative(outReal, real);
      if (inside === '' || inside.startsWith('..') || path.isAbsolute(inside)) {
        throw new CliError(
          `${zipLabel}: listed in ${shown} but outside ${displayPath(projectDirectory, outDirectory)}/, so ext pack did not write it; refusing to publish it`,
          { code: 'E_PUBLISH_ZIP_OUTSIDE_OUT', hint: packHint(outFlag) },
        );
      }
      bytes = await readBoundedRegularFile(real, zipLabel, maximumZipFileBytes, 'E_PUBLISH_ZIP_UNREADABLE');
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw new CliError(`${zipLabel}: listed in ${shown} but cannot be read (${errorMessage(error)})`, {
        code: 'E_PUBLISH_ZIP_UNREADABLE',
        hint: packHint(outFlag),
      });
    }
    const digest = createHash('sha256').update(bytes).digest();
    if (digest.toString('hex') !== entry.sha256) {
      throw new CliError(
        `${zipLabel}: its sha256 is not the one in ${shown}, so the zip changed after ext pack verified it; refusing to publish it`,
        { code: 'E_PUBLISH_ZIP_CHANGED', hint: packHint(outFlag) },
      );
    }
    // The same battery as ext inspect, on the very bytes that are uploaded.
    const report = inspectZipBuffer(bytes, entry.zip, { architecture });
    if (report.errors > 0) {
      const first = report.findings.find((finding) => finding.severity === 'error')!;
      throw new CliError(
        `${zipLabel}: ext inspect finds ${report.errors} error${report.errors === 1 ? '' : 's'} in it (${first.code}: ${printableLine(first.message, 200)}); refusing to publish it`,
        {
          code: 'E_PUBLISH_ZIP_INVALID',
          hint: `run ext inspect ${zipLabel} for every finding, fix them, then ext pack${outFlag}`,
        },
      );
    }
    layers.push({
      architecture,
      compatibleArchitectures: (entry.compatibleArchitectures ?? [architecture]).filter(isArchitecture),
      ...(Array.isArray(entry.compatibleRuntimes)
        ? { compatibleRuntimes: entry.compatibleRuntimes.filter((runtime) => typeof runtime === 'string') }
        : {}),
      zip: entry.zip,
      bytes,
      sha256: entry.sha256,
      codeSha256: digest.toString('base64'),
    });
  }
  const listedCodeSha256 = new Map(
    listed.map((layer) => [layer.architecture, Buffer.from(layer.sha256, 'hex').toString('base64')] as const),
  );
  return { name: manifest.name, version: manifest.version, manifestPath, layers, listedCodeSha256 };
}

export function displayPath(projectDirectory: string, target: string): string {
  const relative = path.relative(projectDirectory, target);
  return relative.startsWith('..') || path.isAbsolute(relative) ? target : relative.split(path.sep).join('/');
}

/** A regular file of at most `maximumBytes`, or a one-line refusal naming `label`, with `code`. */
async function readBoundedRegularFile(
  file: string,
  label: string,
  maximumBytes: number,
  code: 'E_PUBLISH_MANIFEST_INVALID' | 'E_PUBLISH_ZIP_UNREADABLE',
): Promise<Buffer> {
  const read = await readRegularFileUpTo(file, maximumBytes);
  if (Buffer.isBuffer(read)) return read;
  if (read.problem === 'too-large') {
    throw new CliError(`${label}: ${read.size} bytes, more than ${maximumBytes} bytes; refusing to read it`, {
      code,
      hint: `Lambda refuses layers over ${unzippedLimitText} unzipped; run ext pack, which checks Lambda's limits`,
    });
  }
  throw new CliError(`${label}: not a regular file (a directory, device, FIFO or socket); refusing to read it`, {
    code,
    hint: 'run ext pack, which writes regular files only',
  });
}

/** Without a manifest, say first whether this is a project at all: ext pack would fail here too. */
async function requireProject(projectDirectory: string): Promise<void> {
  const config = path.join(projectDirectory, 'lambda-extension.json');
  const exists = await access(config).then(
    () => true,
    () => false,
  );
  if (!exists) {
    throw new CliError(
      `${printableLine(projectDirectory, 200)}: no lambda-extension.json here, so this is not an extension project`,
      {
        code: 'E_PUBLISH_NOT_A_PROJECT',
        hint: 'run ext publish in the project folder or pass --cwd PROJECT; npx create-lambda-extension makes a new project',
      },
    );
  }
}

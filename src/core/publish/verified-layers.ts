import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isArchitecture, type Architecture } from '../architectures.js';
import { CliError, errorMessage } from '../errors.js';
import type { PackManifest } from '../pack.js';

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

/**
 * Reads `<out>/manifest.json` and every zip it lists for the requested
 * architectures. A zip that is missing or whose sha256 is not the manifest's
 * (rebuilt by hand, half-copied, stale) is refused: nothing unverified goes out.
 */
export async function readVerifiedManifest(
  projectDirectory: string,
  outDirectory: string,
  architectures: readonly Architecture[] | undefined,
): Promise<VerifiedManifest> {
  const manifestPath = path.join(outDirectory, 'manifest.json');
  const shown = displayPath(projectDirectory, manifestPath);
  const outFlag =
    outDirectory === path.join(projectDirectory, 'dist') ? '' : ` --out ${displayPath(projectDirectory, outDirectory)}`;
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new CliError(
      `${shown}: ${missing ? 'not found, so there is nothing verified to publish' : errorMessage(error)}`,
      {
        hint: missing ? packHint(outFlag) : `check that ${shown} is readable`,
      },
    );
  }
  let manifest: Partial<PackManifest>;
  try {
    manifest = JSON.parse(text) as Partial<PackManifest>;
  } catch (error) {
    throw new CliError(`${shown}: not valid JSON (${errorMessage(error)})`, { hint: packHint(outFlag) });
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
      hint: packHint(outFlag),
    });
  }
  const listed = manifest.layers;
  const wanted = architectures ?? listed.map((layer) => layer.architecture);
  const missing = wanted.filter((architecture) => !listed.some((layer) => layer.architecture === architecture));
  if (missing.length > 0) {
    throw new CliError(`--arch: ${shown} has no ${missing.join(' or ')} zip`, {
      hint: `run ext pack --arch ${missing.join(',')}${outFlag}, or publish only ${listed.map((layer) => layer.architecture).join(', ') || 'what was packed'}`,
    });
  }
  const layers = await Promise.all(
    wanted.map(async (architecture): Promise<VerifiedLayer> => {
      const entry = listed.find((layer) => layer.architecture === architecture)!;
      const zipPath = path.resolve(projectDirectory, entry.zip);
      let bytes: Buffer;
      try {
        bytes = await readFile(zipPath);
      } catch (error) {
        throw new CliError(`${entry.zip}: listed in ${shown} but cannot be read (${errorMessage(error)})`, {
          hint: packHint(outFlag),
        });
      }
      const digest = createHash('sha256').update(bytes).digest();
      if (digest.toString('hex') !== entry.sha256) {
        throw new CliError(
          `${entry.zip}: its sha256 is not the one in ${shown}, so the zip changed after ext pack verified it; refusing to publish it`,
          { hint: packHint(outFlag) },
        );
      }
      return {
        architecture,
        compatibleArchitectures: (entry.compatibleArchitectures ?? [architecture]).filter(isArchitecture),
        ...(Array.isArray(entry.compatibleRuntimes)
          ? { compatibleRuntimes: entry.compatibleRuntimes.filter((runtime) => typeof runtime === 'string') }
          : {}),
        zip: entry.zip,
        bytes,
        sha256: entry.sha256,
        codeSha256: digest.toString('base64'),
      };
    }),
  );
  const listedCodeSha256 = new Map(
    listed.map((layer) => [layer.architecture, Buffer.from(layer.sha256, 'hex').toString('base64')] as const),
  );
  return { name: manifest.name, version: manifest.version, manifestPath, layers, listedCodeSha256 };
}

export function displayPath(projectDirectory: string, target: string): string {
  const relative = path.relative(projectDirectory, target);
  return relative.startsWith('..') || path.isAbsolute(relative) ? target : relative.split(path.sep).join('/');
}

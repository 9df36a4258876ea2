/* dist/manifest.json: what ext pack made, read back by ext publish; and the names of what it writes. */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { InspectFinding } from '../inspect/index.js';
import { architectures as allArchitectures, type Architecture } from '../layer/index.js';

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

export const manifestFileName = 'manifest.json';

export function zipFileName(name: string, architecture: Architecture): string {
  return `${name}-${architecture}.zip`;
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
export async function mergedManifest(
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

/** `target` relative to the project, "/"-separated, as the manifest and messages show it; absolute when outside. */
export function relativeTo(projectDirectory: string, target: string): string {
  const relative = path.relative(projectDirectory, target);
  return relative.startsWith('..') || path.isAbsolute(relative) ? target : relative.split(path.sep).join('/');
}

import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildZip, type RawZipEntry } from './zip-fixtures.js';

/**
 * A layer zip of exactly `size` bytes: one extension and a stored filler
 * entry, so that publish's own ext inspect battery passes it.
 */
export function layerZip(architecture: string, size: number): Buffer {
  const entries = (filler: number): RawZipEntry[] => [
    { name: 'extensions/', mode: 0o40755 },
    { name: 'extensions/demo', data: `#!/bin/sh\n# ${architecture}\nexec sleep 1\n`, mode: 0o100755 },
    { name: 'filler', data: Buffer.alloc(filler, architecture), method: 0 },
  ];
  const overhead = buildZip(entries(0)).length;
  return buildZip(entries(Math.max(0, size - overhead)));
}

/** A project whose dist/ holds layer zips and their manifest. */
export async function fakePackedProject(directory: string, sizes: { x86_64?: number; arm64?: number }): Promise<void> {
  await mkdir(path.join(directory, 'dist'), { recursive: true });
  const layers = [];
  for (const [architecture, size] of Object.entries(sizes)) {
    const bytes = layerZip(architecture, size);
    const zip = `dist/demo-${architecture}.zip`;
    await writeFile(path.join(directory, zip), bytes);
    const digest = createHash('sha256').update(bytes).digest();
    layers.push({
      architecture,
      compatibleArchitectures: [architecture],
      zip,
      sha256: digest.toString('hex'),
      codeSha256: digest.toString('base64'),
      zippedBytes: size,
      unzippedBytes: size,
      files: 1,
    });
  }
  const manifest = { name: 'demo', version: '1.2.3', timestamp: '1980-01-01T00:00:00.000Z', layers };
  await writeFile(path.join(directory, 'dist', 'manifest.json'), JSON.stringify(manifest));
}

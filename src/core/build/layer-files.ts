/* What every language's layer producer shares: the files it writes and how it fills a staging folder. */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Architecture } from '../layer/index.js';
import { CancelledError } from '../errors.js';

/** What a layer producer needs of ext build's options. */
export interface ProducerOptions {
  projectDirectory: string;
  onOutput?: ((chunk: string) => void) | undefined;
  signal?: AbortSignal | undefined;
}

/** A file of a TypeScript layer, held in memory until each architecture's staging folder gets a copy. */
export interface LayerFile {
  /** Relative to the layer directory. */
  path: string;
  contents: Uint8Array | string;
  /** Exact, whatever umask says: 0o755 for the launcher and the bundle (Lambda runs one, node the other). */
  mode: number;
}

export async function writeLayerFiles(staging: string, files: readonly LayerFile[]): Promise<void> {
  for (const file of files) {
    const target = path.join(staging, file.path);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, file.contents, { mode: file.mode });
    await chmod(target, file.mode);
  }
}

/** A function, not an inline check, so that the compiler does not take `aborted` for a constant. */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new CancelledError();
}

/** Fills a staging directory with one architecture's layer tree. */
export type LayerProducer = (staging: string, architecture: Architecture) => Promise<void>;

import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { build } from '../build/index.js';
import { readConfig } from '../config.js';
import { CliError, errorMessage } from '../errors.js';
import type { Architecture } from '../layer/architectures.js';
import { templatesRoot } from '../paths.js';
import type { NodeRuntime } from '../emulator/index.js';

/**
 * The floor every figure is read against: a null extension (registers, loops
 * on event/next, nothing else) of the layer's language, built by `ext build`'s
 * own code for the same architecture and, for TypeScript, run on the same node.
 * Its sources ship in templates/shared/cost/null-extension/.
 */

export const nullExtensionName = 'null-extension';

export interface NullLayer {
  directory: string;
  cleanup(): Promise<void>;
}

export interface NullLayerRequest {
  language: 'go' | 'ts';
  architecture: Architecture;
  /** The node that runs the layer's TypeScript extensions: the null one runs on it too. */
  node?: NodeRuntime | undefined;
  signal?: AbortSignal | undefined;
  onBuildOutput?: ((chunk: string) => void) | undefined;
}

/** Builds the null extension into a temporary project of its own; `cleanup` removes it. */
export async function buildNullLayer(request: NullLayerRequest): Promise<NullLayer> {
  const project = await fs.mkdtemp(path.join(os.tmpdir(), 'ext-cost-null-'));
  const cleanup = () => fs.rm(project, { recursive: true, force: true });
  try {
    await fs.cp(path.join(templatesRoot, 'shared', 'cost', 'null-extension', request.language), project, {
      recursive: true,
    });
    const config = await readConfig(project);
    const result = await build({
      projectDirectory: project,
      config,
      architectures: [request.architecture],
      outDirectory: 'dist',
      typecheck: false,
      onOutput: request.onBuildOutput,
      signal: request.signal,
    });
    const layer = result.layers[0];
    if (layer === undefined) throw new Error('the build produced no layer');
    if (request.node !== undefined) {
      // bin/ is first on the extensions' PATH (Lambda's /opt/bin): the launcher's `node` is the layer's node.
      await fs.mkdir(path.join(layer.directory, 'bin'), { recursive: true });
      await fs.symlink(request.node.path, path.join(layer.directory, 'bin', 'node'));
    }
    return { directory: layer.directory, cleanup };
  } catch (error) {
    await cleanup();
    if (error instanceof CliError && error.code === 'E_CANCELLED') throw error;
    throw new CliError(
      `the null extension (${request.language}), the floor of every figure, could not be built: ${errorMessage(error)}`,
      {
        code: 'E_COST_FLOOR_UNAVAILABLE',
        hint:
          request.language === 'go'
            ? 'ext cost builds it with go, as ext build does: put Go 1.21 or later on PATH'
            : 'ext cost bundles it with esbuild, as ext build does: install esbuild beside create-lambda-extension',
        cause: error,
      },
    );
  }
}

/** An environment with no extension at all: a layer folder whose extensions/ is empty. */
export async function emptyLayer(): Promise<NullLayer> {
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'ext-cost-none-'));
  await fs.mkdir(path.join(directory, 'extensions'));
  return { directory, cleanup: () => fs.rm(directory, { recursive: true, force: true }) };
}

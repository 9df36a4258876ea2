/* ext build for TypeScript: one esbuild bundle and its launcher, copied into each architecture's layer. */
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Architecture } from '../layer/index.js';
import type { ExtensionConfig } from '../config.js';
import { CancelledError, CliError } from '../errors.js';
import { loadPeerDependency } from '../peer-dependencies.js';
import { typeScriptBundleOptions } from './bundle-options.js';
import { launcherScript } from './launcher.js';
import {
  throwIfCancelled,
  writeLayerFiles,
  type LayerFile,
  type LayerProducer,
  type ProducerOptions,
} from './layer-files.js';

/**
 * The bundle and its launcher, in memory: the bundle does not depend on the
 * architecture, and writing each architecture's copy straight from memory is
 * cheaper than writing once and copying (fs.cp stats its way through; see docs/benchmarks.md).
 * `outDirectory` only anchors the paths esbuild writes into a source map.
 */
async function bundleTypeScript(
  config: ExtensionConfig,
  projectDirectory: string,
  outDirectory: string,
  version: string,
  sourcemap: boolean,
  onOutput: ((chunk: string) => void) | undefined,
  signal: AbortSignal | undefined,
): Promise<LayerFile[]> {
  // require(), not import(): esbuild is CommonJS, and importing it makes Node scan its whole
  // source for export names first, which is costly (see docs/benchmarks.md).
  const esbuild = await loadPeerDependency(
    'esbuild',
    'bundling a TypeScript extension',
    () => createRequire(import.meta.url)('esbuild') as typeof import('esbuild'),
  );
  // At the depth of <out>/<arch>/<name>/index.mjs, so that a source map's relative paths hold in every copy.
  const layerDirectory = path.join(outDirectory, 'bundle');
  const options = {
    ...typeScriptBundleOptions({
      entry: path.resolve(projectDirectory, config.entry),
      outfile: path.join(layerDirectory, config.name, 'index.mjs'),
      projectDirectory,
      version,
      sourcemap,
      flush: config.telemetry?.flush,
    }),
    write: false,
  } as const;
  // esbuild checks for cancellation only between files, so one large file would keep it busy for
  // seconds: on abort, stop its service, which ends the build at once with nothing more written,
  // and stop waiting for it (a stopped service never answers).
  let cancel = (): void => {};
  const cancelled = new Promise<never>((_, reject) => {
    cancel = () => {
      void esbuild.stop();
      reject(new CancelledError());
    };
  });
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    // Aborted while esbuild was loading: the listener came too late to hear it.
    throwIfCancelled(signal);
    // One build, not a context: a context costs a round trip to esbuild's service to set up and one to dispose.
    const result = await Promise.race([esbuild.build(options), cancelled]);
    return [
      ...result.outputFiles.map((file) => ({
        path: path.relative(layerDirectory, file.path),
        contents: file.contents,
        mode: file.path.endsWith('.map') ? 0o644 : 0o755,
      })),
      {
        path: `extensions/${config.name}`,
        contents: launcherScript(config.name, sourcemap, config.nodeOptions, config.standalone === true),
        mode: 0o755,
      },
    ];
  } catch (error) {
    throwIfCancelled(signal);
    const failure = error as { errors?: import('esbuild').Message[] };
    if (failure.errors !== undefined && failure.errors.length > 0) {
      const formatted = await esbuild.formatMessages(failure.errors, { kind: 'error', color: false });
      onOutput?.(formatted.join(''));
      const first = failure.errors[0]!;
      const where = first.location === null ? '' : `${first.location.file}:${first.location.line}: `;
      throw new CliError(`bundling ${config.entry} failed: ${where}${first.text}`, {
        code: 'E_BUILD_BUNDLE_FAILED',
        hint: 'fix the error above, then run ext build again',
      });
    }
    throw error;
  } finally {
    signal?.removeEventListener('abort', cancel);
  }
}

/** The bundle does not depend on the architecture: make it once and give each architecture a copy. */
export function typeScriptLayerProducer(
  config: ExtensionConfig,
  options: ProducerOptions,
  version: string,
  outDirectory: string,
  addNode?: (staging: string, architecture: Architecture) => Promise<void>,
): LayerProducer {
  let bundled: Promise<LayerFile[]> | undefined;
  return async (staging, architecture) => {
    bundled ??= bundleTypeScript(
      config,
      path.resolve(options.projectDirectory),
      outDirectory,
      version,
      config.sourcemap ?? false,
      options.onOutput,
      options.signal,
    );
    const files = await bundled;
    if (options.signal?.aborted === true) throw new CancelledError();
    await writeLayerFiles(staging, files);
    if (addNode !== undefined) await addNode(staging, architecture);
  };
}

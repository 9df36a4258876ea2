import type { BuildOptions } from 'esbuild';

/**
 * esbuild's ESM output cannot call require() for Node built-ins that bundled
 * CommonJS code asks for; a require made from import.meta.url fixes that.
 */
const bundleBanner = [
  '#!/usr/bin/env node',
  "import { createRequire as __extensionCreateRequire } from 'node:module';",
  'const require = __extensionCreateRequire(import.meta.url);',
].join('\n');

export interface BundleTarget {
  /** Absolute. */
  entry: string;
  /** Absolute. */
  outfile: string;
  /** Absolute. */
  projectDirectory: string;
  version: string;
  sourcemap: boolean;
  /** telemetry.flush in lambda-extension.json: the telemetry template's default flush strategy. */
  flush?: string | undefined;
}

/**
 * The esbuild options of a TypeScript extension's bundle. A module of its own,
 * importing nothing at run time, so that the bench's floor (a bare Node
 * process calling esbuild) bundles with exactly these options and no more.
 */
export function typeScriptBundleOptions(target: BundleTarget): BuildOptions {
  return {
    entryPoints: [target.entry],
    outfile: target.outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    banner: { js: bundleBanner },
    define: {
      'process.env.EXTENSION_VERSION': JSON.stringify(target.version),
      // Always replaced, so that a bundle never reads it from the function's environment.
      'process.env.EXTENSION_TELEMETRY_FLUSH': target.flush === undefined ? 'undefined' : JSON.stringify(target.flush),
    },
    sourcemap: target.sourcemap ? 'linked' : false,
    sourcesContent: false,
    legalComments: 'none',
    absWorkingDir: target.projectDirectory,
    logLevel: 'silent',
  };
}

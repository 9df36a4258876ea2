/**
 * The floor for `ext build` of a TypeScript project: a bare Node process
 * that calls esbuild's JS API, imported as its documentation shows, once, on
 * the same entry with the same options (the options come from the toolkit's
 * own module, so the two cannot drift apart). Usage:
 * node build/bench/floors/esbuild-api.js <project> <entry> <outfile> <version>
 */
import { build } from 'esbuild';
import { typeScriptBundleOptions } from '../../src/core/build/bundle-options.js';

const [projectDirectory, entry, outfile, version] = process.argv.slice(2);
if (projectDirectory === undefined || entry === undefined || outfile === undefined || version === undefined) {
  throw new Error('usage: esbuild-api.js <project> <entry> <outfile> <version>');
}
await build(typeScriptBundleOptions({ entry, outfile, projectDirectory, version, sourcemap: false }));

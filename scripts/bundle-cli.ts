/**
 * Bundles the two bins into build/cli/ after tsc. Start-up time is most of
 * what `ext --help` costs, and resolving and compiling a hundred small
 * modules (yargs and friends) is most of start-up. Code splitting keeps every
 * command's core in its own chunk, loaded only when that command runs.
 */
import path from 'node:path';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const outdir = path.join(root, 'build', 'cli');

await rm(outdir, { recursive: true, force: true });
await build({
  entryPoints: {
    ext: path.join(root, 'build', 'src', 'cli', 'ext.js'),
    create: path.join(root, 'build', 'src', 'cli', 'create.js'),
  },
  outdir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minifySyntax: true,
  // Native binaries and code that loads files relative to itself stay as installed packages.
  external: ['esbuild', 'archiver'],
  banner: {
    js: "import { createRequire as __bundleCreateRequire } from 'node:module'; const require = __bundleCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});

/**
 * The build step after tsc, for start-up time, which is most of what the bins
 * cost:
 * - bundles the two bins into build/cli/: resolving and compiling a hundred
 *   small modules (yargs and friends) is most of start-up; code splitting keeps
 *   every command's core in its own chunk, loaded only when that command runs;
 * - precompiles the templates into build/templates-precompiled/, a module per
 *   template folder, so scaffolding needs only handlebars' runtime and the
 *   templates it renders (see src/core/templates/render.ts);
 * - defers string-width and node:assert (see lazyStringWidth, lazyAssert).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import Handlebars from 'handlebars';
import { prerenderedHelpFile } from '../src/cli/ext.js';
import { listFiles } from '../src/core/fs-utils.js';
import { handlebarsOptions, precompiledGroupOf, precompiledTemplatesDirectory } from '../src/core/templates/render.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const outdir = path.join(root, 'build', 'cli');

/**
 * yargs measures help text with string-width (three copies, two versions),
 * which builds an Intl.Segmenter and Unicode-property regular expressions
 * such as \p{RGI_Emoji} when it loads: a start-up cost (see
 * docs/benchmarks.md) paid by every command although only help and errors
 * are ever measured. Each copy is replaced by a stand-in that answers
 * printable ASCII (width = length, as in every version) itself and loads
 * the real module, bundled behind esbuild's lazy require wrapper, only for
 * anything else.
 */
const lazyStringWidth: Plugin = {
  name: 'lazy-string-width',
  setup(build) {
    build.onResolve({ filter: /^string-width$/ }, async (args) => {
      if (args.pluginData === 'real') return undefined;
      const real = await build.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        importer: args.importer,
        pluginData: 'real',
      });
      if (real.errors.length > 0) return { errors: real.errors };
      // A path relative to the package, as esbuild prints in the bundle's comments; the real one travels as data.
      return { path: path.relative(root, real.path), namespace: 'lazy-string-width', pluginData: real.path };
    });
    build.onLoad({ filter: /.*/, namespace: 'lazy-string-width' }, (args) => {
      const real = args.pluginData as string;
      return {
        contents: [
          'export default function stringWidth(text, options) {',
          "  if (typeof text === 'string' && /^[\\x20-\\x7e]*$/.test(text)) return text.length;",
          `  return require(${JSON.stringify(real)}).default(text, options);`,
          '}',
        ].join('\n'),
        resolveDir: path.dirname(real),
        loader: 'js',
      };
    });
  },
};

/**
 * yargs imports node:assert for its internal checks. Loading it builds
 * AssertionError, its colours and a stderr stream, which every command's
 * start-up would pay (see docs/benchmarks.md). One check fails on every
 * run, inside a try (bundled, yargs looks for its own package.json and
 * finds none), so a stand-in that loaded the real module to throw would
 * still pay. The stand-in compares as node:assert does (Object.is) and
 * throws a plain error with the same code.
 */
const lazyAssert: Plugin = {
  name: 'lazy-assert',
  setup(build) {
    build.onResolve({ filter: /^(node:)?assert$/ }, (args) =>
      // Only yargs' import, whose two names the stand-in has; anything else gets the real module.
      args.kind === 'import-statement' && /[\\/]node_modules[\\/]yargs[\\/]/.test(args.importer)
        ? { path: 'assert', namespace: 'lazy-assert' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'lazy-assert' }, () => ({
      contents: [
        'function fail(message, fallback) {',
        '  if (message instanceof Error) throw message;',
        "  throw Object.assign(new Error(message ?? fallback), { code: 'ERR_ASSERTION' });",
        '}',
        'export function strictEqual(actual, expected, message) {',
        "  if (!Object.is(actual, expected)) fail(message, 'Expected values to be strictly equal');",
        '}',
        'export function notStrictEqual(actual, expected, message) {',
        '  if (Object.is(actual, expected)) fail(message, \'Expected "actual" to be strictly unequal to "expected"\');',
        '}',
      ].join('\n'),
      loader: 'js',
    }));
  },
};

await rm(outdir, { recursive: true, force: true });
// One build per bin: a module only ext reaches then lands in ext.mjs itself rather than in a
// chunk of its own. Every ES module Node loads costs start-up time, whatever its size (see
// docs/benchmarks.md), so twenty small shared chunks cost more than the code in them. The bins
// never share a process.
// `index` is the library API (package.json's exports): bundled like the bins, so that yargs,
// prompts, handlebars and archiver are no runtime dependencies of the package at all, and
// `npx create-lambda-extension` installs the one package.
const entries: Record<string, string> = {
  ext: path.join(root, 'build', 'src', 'cli', 'ext.js'),
  create: path.join(root, 'build', 'src', 'cli', 'create.js'),
  index: path.join(root, 'build', 'src', 'index.js'),
};
for (const [bin, entry] of Object.entries(entries)) {
  await build({
    entryPoints: { [bin]: entry },
    outdir,
    chunkNames: `${bin}/[name]-[hash]`,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    minifySyntax: true,
    // esbuild (a native binary) stays an installed package, and so does the AWS SDK (CommonJS, which
    // a bundled dynamic import would hand back as a default export): optional peer dependencies, which
    // the generated projects install (see src/core/peer-dependencies.ts). archiver is bundled: installed,
    // it is some sixty modules, slow for ext pack to load (see docs/benchmarks.md).
    external: ['esbuild', '@aws-sdk/*', '@smithy/*'],
    banner: {
      js: "import { createRequire as __bundleCreateRequire } from 'node:module'; const require = __bundleCreateRequire(import.meta.url);",
    },
    plugins: [lazyStringWidth, lazyAssert],
    logLevel: 'warning',
  });
}

const templatesDirectory = path.join(root, 'templates');
const groups = new Map<string, string[]>();
for (const file of (await listFiles(templatesDirectory)).filter((name) => name.endsWith('.hbs'))) {
  const source = await readFile(path.join(templatesDirectory, file), 'utf8');
  const spec = Handlebars.precompile(source, handlebarsOptions);
  const group = precompiledGroupOf(file);
  if (!groups.has(group)) groups.set(group, []);
  groups.get(group)!.push(`  ${JSON.stringify(file)}: { source: ${JSON.stringify(source)}, spec: ${String(spec)} },`);
}
await rm(precompiledTemplatesDirectory, { recursive: true, force: true });
for (const [group, entries] of groups) {
  const file = path.join(precompiledTemplatesDirectory, `${group}.mjs`);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(
    file,
    `// Generated by scripts/bundle-cli.ts from templates/${group}/**/*.hbs; do not edit.\nexport const templates = {\n${entries.join('\n')}\n};\n`,
  );
}

// `ext --help` off a terminal, rendered by yargs itself, for src/cli/ext.ts to print without loading it.
const help = spawnSync(process.execPath, [path.join(root, 'bin', 'ext.js'), '--help'], {
  env: { ...process.env, EXT_HELP_FROM_PARSER: '1' },
  encoding: 'utf8',
});
if (help.status !== 0) throw new Error(`ext --help failed while prerendering it:\n${help.stderr}`);
await writeFile(path.join(outdir, prerenderedHelpFile), help.stdout);

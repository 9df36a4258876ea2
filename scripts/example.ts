/**
 * `npm run example [-- DIR]`: the main job on a fresh clone. Scaffolds the Go
 * and the TypeScript example extensions into ./example (or DIR) with the real
 * bins, then builds and packs both architectures of each and prints the pack
 * tables.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectTypeScript } from '../src/core/build/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// An optional argument puts the examples elsewhere (the tests use a temporary folder).
const exampleDirectory = path.resolve(process.argv[2] ?? path.join(root, 'example'));
const marker = path.join(exampleDirectory, '.made-by-npm-run-example');

function step(title: string, command: string[], cwd: string): void {
  process.stdout.write(`\n$ ${title}\n`);
  const result = spawnSync(process.execPath, command, { cwd, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`example: "${title}" failed (exit ${result.status ?? result.signal})\n`);
    process.exit(result.status ?? 1);
  }
}

if (existsSync(exampleDirectory)) {
  if (!existsSync(marker)) {
    process.stderr.write(`example: ${exampleDirectory} exists and was not made by this script; move it away first\n`);
    process.exit(1);
  }
  // Only ever removes what an earlier run of this script made.
  rmSync(exampleDirectory, { recursive: true, force: true });
}
mkdirSync(exampleDirectory, { recursive: true });
writeFileSync(marker, 'Made by npm run example; the next run replaces this folder.\n');

const create = path.join(root, 'bin', 'create-lambda-extension.js');
const ext = path.join(root, 'bin', 'ext.js');
for (const language of ['go', 'ts']) {
  const name = `${language}-example`;
  step(
    `create-lambda-extension ${name} --lang ${language} --yes`,
    [create, name, '--lang', language, '--yes'],
    exampleDirectory,
  );
  const project = path.join(exampleDirectory, name);
  // The example is not npm-installed: the type check needs a typescript above it (the checkout's, when the
  // example sits inside it, as by default), else it is skipped and the build says nothing of types.
  const flags = language === 'ts' && projectTypeScript(project) === undefined ? ['--no-typecheck'] : [];
  step(`(in ${name}) ext build ${flags.join(' ')}`.trimEnd(), [ext, 'build', ...flags], project);
  step(`(in ${name}) ext pack --no-build`, [ext, 'pack', '--no-build'], project);
}
process.stdout.write(`\nDone: layer zips are in ${path.relative(process.cwd(), exampleDirectory)}/*/dist/*.zip\n`);

import fc from 'fast-check';
import { launcherTargets, LauncherTooComplexError, type LauncherTarget } from '../../../src/core/inspect/index.js';
import { check, runForBudget, type FuzzTarget } from '../harness.js';

/** The idioms the analysis evaluates, the words around them, and noise, to be glued into lines. */
const token = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '$0',
      '${0}',
      '"$0"',
      '$(dirname "$0")',
      '$(dirname -- $0)',
      '`dirname $0`',
      '$(basename "$0")',
      '${0%/*}',
      '${0##*/}',
      '$(cd "$(dirname "$0")" && pwd)',
      '$(cd -P -- "$DIR/.." ; pwd -P)',
      '$(readlink -f "$0")',
      '$(realpath -s "$0")',
      '$DIR',
      '${DIR}',
      '$A$A',
      '$B$B$B',
      '$(',
      ')',
      '`',
      '"',
      "'",
      '/',
      '/..',
      '/opt/',
      '../',
      'exec',
      'exec -a name',
      'env -i X=1',
      '/usr/bin/env',
      'node',
      'python3',
      'bash',
      ' ',
      '  ',
      '\t',
      ';',
      '&&',
      '|',
      '#',
      '\r',
      '--',
      '-x',
      'index.mjs',
      'bin/ext',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
);

const line = fc.oneof(
  fc.array(token, { maxLength: 12 }).map((tokens) => tokens.join('')),
  fc
    .tuple(fc.constantFrom('A', 'B', 'DIR', 'HERE', '_x'), fc.array(token, { maxLength: 8 }))
    .map(([name, tokens]) => `${name}=${tokens.join('')}`),
  fc
    .tuple(fc.constantFrom('export ', 'local ', 'readonly ', ''), fc.constantFrom('A', 'B', 'DIR'), token, token)
    .map(([prefix, name, left, right]) => `${prefix}${name}=${left}${right}`),
);

const script = fc
  .tuple(fc.constantFrom('#!/bin/sh\n', '#!/bin/bash\n', '', '#!'), fc.array(line, { maxLength: 40 }))
  .map(([shebang, lines]) => shebang + lines.join('\n'));

/** Scripts whose variables double each other many times over. */
const doubling = fc.integer({ min: 1, max: 60 }).map((depth) => {
  const lines = ['#!/bin/sh', 'V0="$(dirname "$0")/x"'];
  for (let level = 1; level <= depth; level++) lines.push(`V${level}=$V${level - 1}$V${level - 1}`);
  lines.push(`exec "$V${depth}/bin"`);
  return lines.join('\n');
});

const launcherPath = fc.constantFrom('extensions/demo', 'extensions/a b', 'extensions/../x', 'extensions/$0');

const maximumCaseMs = 10_000;

export function exerciseLauncher(text: string, file: string): void {
  const started = Date.now();
  let targets: LauncherTarget[];
  try {
    targets = launcherTargets(text, file);
  } catch (error) {
    check(error instanceof LauncherTooComplexError, () => `launcherTargets threw ${String(error)}`);
    targets = [];
  }
  const elapsed = Date.now() - started;
  check(elapsed < maximumCaseMs, () => `a ${text.length}-character script took ${elapsed} ms`);
  const lines = text.split('\n');
  check(targets.length <= lines.length, () => `${targets.length} targets from ${lines.length} lines`);
  for (const target of targets) {
    check(
      lines[target.line - 1]?.replace(/\r$/, '') === target.text,
      () => `target line ${target.line} is not its text`,
    );
    if (target.path === undefined) continue;
    const resolved = target.path;
    check(
      !resolved.startsWith('/') && !resolved.split('/').includes('..'),
      () => `the resolved path ${JSON.stringify(resolved)} leaves the layer`,
    );
  }
}

export const launcherTarget: FuzzTarget = {
  name: 'launcher',
  description:
    'random shell-like launcher scripts built from the idioms it evaluates ($0, dirname, cd && pwd, ${0%/*}, variables that double each other): analysis ends in bounded time with targets inside the layer, or LauncherTooComplexError',
  run(budget) {
    return runForBudget(
      this.name,
      fc.property(
        fc.oneof({ weight: 4, arbitrary: script }, { weight: 1, arbitrary: doubling }),
        launcherPath,
        exerciseLauncher,
      ),
      budget,
      100,
    );
  },
};

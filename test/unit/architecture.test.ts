import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { repositoryRoot } from '../helpers/paths.js';

/**
 * The dependency rules of docs/architecture.md, read from the source at test time, so that a change that
 * breaks one fails here rather than in a review. Only relative imports that load code count: `import type`
 * is erased at build time and ties nothing together at run time.
 */

const sourceRoot = path.join(repositoryRoot, 'src');
const sourceFiles = readdirSync(sourceRoot, { recursive: true })
  .map(String)
  .filter((file) => file.endsWith('.ts'))
  .map((file) => path.posix.join('src', file.split(path.sep).join('/')));

function importsOf(file: string): string[] {
  const text = readFileSync(path.join(repositoryRoot, file), 'utf8');
  const targets: string[] = [];
  const statements = /^\s*(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?'(\.[^']+)'/gm;
  const dynamic = /\bimport\('(\.[^']+)'\)/g;
  for (const [, typeOnly, target] of text.matchAll(statements)) if (typeOnly === undefined) targets.push(target!);
  for (const [, target] of text.matchAll(dynamic)) targets.push(target!);
  return targets.map((target) => path.posix.join(path.posix.dirname(file), target.replace(/\.js$/, '.ts')));
}

const graph = new Map(sourceFiles.map((file) => [file, importsOf(file)]));

/** `src/core/<folder>/…` → the folder; a file directly in src/core (a basic) → undefined. */
function capabilityOf(file: string): string | undefined {
  const parts = file.split('/');
  return parts[0] === 'src' && parts[1] === 'core' && parts.length > 3 ? parts[2] : undefined;
}
const isBasic = (file: string) => file.startsWith('src/core/') && file.split('/').length === 3;
/** The layer contract is the rules every capability stands on: anyone may import its modules directly. */
const foundations = new Set(['layer', 'zip']);

/**
 * Imports of a sibling's internal module rather than its index, each kept for start-up speed: a sibling's
 * index would load code (the zip reader, the node downloader, the HTTP server) that the importer never runs,
 * on every `ext` command. docs/architecture.md lists them.
 */
const startUpExceptions = new Set([
  'src/core/build/index.ts -> src/core/standalone/layout.ts',
  'src/core/build/index.ts -> src/core/standalone/runtimes.ts',
  'src/core/build/launcher.ts -> src/core/standalone/layout.ts',
  'src/core/pack/index.ts -> src/core/standalone/runtimes.ts',
  'src/core/pack/verify.ts -> src/core/standalone/layout.ts',
  'src/core/dev/index.ts -> src/core/emulator/run.ts',
  'src/core/dev/watch.ts -> src/core/emulator/run.ts',
  'src/core/dev/layer.ts -> src/core/emulator/processes/supervisor.ts',
  'src/core/dev/layer.ts -> src/core/emulator/cpu-emulation/index.ts',
]);

describe('architecture', () => {
  it('has no import cycles', () => {
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const cycles: string[] = [];
    const visit = (file: string): void => {
      state.set(file, 'open');
      stack.push(file);
      for (const target of graph.get(file) ?? []) {
        if (state.get(target) === 'open') cycles.push([...stack.slice(stack.indexOf(target)), target].join(' -> '));
        else if (!state.has(target)) visit(target);
      }
      stack.pop();
      state.set(file, 'done');
    };
    for (const file of graph.keys()) if (!state.has(file)) visit(file);
    assert.deepEqual(cycles, []);
  });

  it('the emulator: api/ and lifecycle/ stand on environment/, never on each other', () => {
    const emulator = 'src/core/emulator/';
    const room = (file: string) => (file.startsWith(emulator) ? file.slice(emulator.length).split('/')[0] : undefined);
    const crossings: string[] = [];
    for (const [file, targets] of graph) {
      const from = room(file);
      for (const target of targets) {
        const to = room(target);
        const forbidden =
          (from === 'api' && to === 'lifecycle') ||
          (from === 'lifecycle' && to === 'api') ||
          (from === 'environment' && (to === 'api' || to === 'lifecycle'));
        if (forbidden) crossings.push(`${file} -> ${target}`);
      }
    }
    assert.deepEqual(crossings, []);
    assert.ok(
      sourceFiles.some((file) => room(file) === 'api') && sourceFiles.some((file) => room(file) === 'lifecycle'),
    );
  });

  it('a basic never imports a capability; a capability reaches a sibling through its index', () => {
    const problems: string[] = [];
    for (const [file, targets] of graph) {
      for (const target of targets) {
        const to = capabilityOf(target);
        if (to === undefined || foundations.has(to)) continue;
        const from = capabilityOf(file);
        if (isBasic(file)) problems.push(`basic imports a capability: ${file} -> ${target}`);
        else if (from !== undefined && from !== to && !target.endsWith(`/core/${to}/index.ts`)) {
          if (!startUpExceptions.has(`${file} -> ${target}`))
            problems.push(`sibling's internals: ${file} -> ${target}`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  it('the foundations import only basics and each other', () => {
    const problems: string[] = [];
    for (const [file, targets] of graph) {
      if (!foundations.has(capabilityOf(file) ?? '')) continue;
      for (const target of targets) {
        const to = capabilityOf(target);
        if (to !== undefined && !foundations.has(to)) problems.push(`${file} -> ${target}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('each of Lambda limits is written in one source file, src/core/layer/limits.ts', () => {
    const spellings = [/\b52428800\b/, /\b262144000\b/, /\b(50|250) \* 1024 \* 1024\b/, /\b(50|250) \* mebibyte\b/];
    const holders = sourceFiles.filter((file) => {
      const text = readFileSync(path.join(repositoryRoot, file), 'utf8');
      return spellings.some((spelling) => spelling.test(text));
    });
    assert.deepEqual(holders, ['src/core/layer/limits.ts']);
  });

  it('every startup exception is still an import, so the list cannot go stale', () => {
    for (const exception of startUpExceptions) {
      const [file, target] = exception.split(' -> ') as [string, string];
      assert.ok(graph.get(file)?.includes(target), exception);
    }
  });

  it('the emulator stays in rooms a reader can hold: no file over 400 lines, no function over 80', () => {
    const tooLong: string[] = [];
    for (const file of sourceFiles.filter((name) => name.startsWith('src/core/emulator/'))) {
      const text = readFileSync(path.join(repositoryRoot, file), 'utf8');
      const lines = text.split('\n').length;
      if (lines > 400) tooLong.push(`${file}: ${lines} lines`);
      const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
      const visit = (node: ts.Node): void => {
        if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
          const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
          const last = source.getLineAndCharacterOfPosition(node.end).line;
          if (last - first + 1 > 80) tooLong.push(`${file}:${first + 1}: a function of ${last - first + 1} lines`);
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    assert.deepEqual(tooLong, []);
  });
});

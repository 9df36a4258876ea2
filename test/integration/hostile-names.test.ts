import assert from 'node:assert/strict';
import { scaled } from '../helpers/time-scale.js';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { ErrorCode } from '../../src/core/error-codes.js';
import { goModuleProblem, npmNameProblem, versionProblem } from '../../src/core/names.js';
import { runCreate, temporaryDirectory } from '../helpers/run-cli.js';

const runFile = promisify(execFile);

describe('names are checked as go and npm check them', { timeout: scaled(240_000) }, () => {
  test('Go module paths that go mod init refuses, or whose project does not build, are refused', () => {
    const bad = [
      'go',
      'crypto',
      'net',
      'os',
      'testing',
      'cmd',
      'vendor',
      'std',
      'all',
      'tool',
      'toolchain',
      'builtin',
      'unsafe',
      'C',
      'x.',
      'x/',
      '/x',
      'a/../b',
      'a/./b',
      'a//b',
      '.x',
      '-x',
      'con',
      'lpt1.x',
      'foo~1',
      'a+b',
      'a b',
      'a@b',
      'ünï',
      'x/v1',
      'x/v0',
      'x/v02',
      'crypto/x',
    ];
    for (const module of bad) {
      const problem = goModuleProblem(module);
      assert.ok(problem !== undefined, `accepted ${JSON.stringify(module)}`);
      assert.match(problem, /is not a usable Go module path: .*; use path elements of/);
    }
    for (const module of ['myext', 'my-ext', 'my_ext', 'A', 'a~b', 'main', 'example.com/acme/ext', 'x/v2', 'slog']) {
      assert.equal(goModuleProblem(module), undefined, module);
    }
  });

  test('npm package names follow validate-npm-package-name', () => {
    for (const name of [
      'node_modules',
      'favicon.ico',
      'http',
      'fs',
      'crypto',
      '.x',
      '_x',
      'A',
      'a b',
      'x'.repeat(215),
    ]) {
      assert.ok(npmNameProblem(name) !== undefined, `accepted ${JSON.stringify(name)}`);
    }
    for (const name of ['my-ext', 'a.b_c', 'x'.repeat(214), 'test'])
      assert.equal(npmNameProblem(name), undefined, name);
  });

  test('versions are bounded and carry nothing a command line would need to quote', () => {
    assert.equal(versionProblem('v1.2.3-rc.1+build.5'), undefined);
    for (const version of ['', 'a b', '1.0"', "1'", '$(id)', '1;2', 'x'.repeat(129), '-1']) {
      assert.ok(versionProblem(version) !== undefined, `accepted ${JSON.stringify(version).slice(0, 30)}`);
    }
    assert.ok(versionProblem('1'.repeat(200_000))!.length < 500, 'the message stays short');
  });

  test('the scaffolder refuses them by flag and writes nothing', async () => {
    const workspace = await temporaryDirectory('names-');
    try {
      // The flag at fault and the stable code; goModuleProblem and npmNameProblem's reasons are checked above.
      const cases: [string[], string, ErrorCode][] = [
        [['crypto', '--lang', 'go'], '--name', 'E_CREATE_NAME_INVALID'],
        [['x.', '--lang', 'go'], '--name', 'E_CREATE_NAME_INVALID'],
        [['ok', '--module', 'x/'], '--module', 'E_CREATE_MODULE_INVALID'],
        [['ok', '--module', 'a/../b'], '--module', 'E_CREATE_MODULE_INVALID'],
        [['ok', '--module', 'a/./b'], '--module', 'E_CREATE_MODULE_INVALID'],
        [['node_modules', '--lang', 'ts'], '--name', 'E_CREATE_NAME_INVALID'],
        [['favicon.ico', '--lang', 'ts'], '--name', 'E_CREATE_NAME_INVALID'],
        [['http', '--lang', 'ts'], '--name', 'E_CREATE_NAME_INVALID'],
      ];
      for (const [args, flag, code] of cases) {
        const directory = path.join(workspace.path, 'p');
        const result = await runCreate([directory, '--name', args[0]!, ...args.slice(1), '--yes', '--json'], {
          timeoutMs: 30_000,
        });
        assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
        const { error } = JSON.parse(result.stdout) as { error: { code: string; message: string; hint?: string } };
        assert.equal(error.code, code, `${args.join(' ')}: ${error.message}`);
        assert.ok(error.message.startsWith(`${flag}: `), error.message);
        assert.ok(error.hint !== undefined && error.hint !== '', `${args.join(' ')}: a hint`);
        assert.equal(existsSync(directory), false);
      }
    } finally {
      await workspace.cleanup();
    }
  });

  test('names at the edge of what is accepted give a Go project that builds and vets', async () => {
    const workspace = await temporaryDirectory('names-build-');
    try {
      for (const [name, module] of [
        ['main', undefined],
        ['x-', undefined],
        ['Edge.Case_1', 'example.com/a~b/v2'],
      ] as const) {
        const directory = path.join(workspace.path, name);
        const args = [directory, '--name', name, '--lang', 'go', '--template', 'telemetry', '--yes'];
        const created = await runCreate(module === undefined ? args : [...args, '--module', module], {
          timeoutMs: 30_000,
        });
        assert.equal(created.code, 0, created.stderr);
        await runFile('go', ['build', './...'], { cwd: directory, timeout: scaled(120_000) });
        await runFile('go', ['vet', './...'], { cwd: directory, timeout: scaled(120_000) });
      }
    } finally {
      await workspace.cleanup();
    }
  });
});

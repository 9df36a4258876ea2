import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repositoryRoot, runExt } from '../helpers/run-cli.js';

describe('ext', () => {
  it('--version prints the package version', async () => {
    const { version } = JSON.parse(await readFile(path.join(repositoryRoot, 'package.json'), 'utf8'));
    const result = await runExt(['--version']);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, `${version}\n`);
  });

  it('--help lists every command', async () => {
    const result = await runExt(['--help']);
    assert.equal(result.code, 0);
    for (const command of ['build', 'pack', 'inspect <zip>', 'dev'])
      assert.match(result.stdout, new RegExp(`ext ${command} `));
  });

  it('calls a mistyped command a command, with exit code 2', async () => {
    const result = await runExt(['biuld']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^error: unknown command "biuld"/m);
    assert.match(result.stderr, /^hint: the commands are build, pack, inspect, dev/m);
  });

  it('names an unknown flag, with exit code 2', async () => {
    const result = await runExt(['build', '--frobnicate']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^error: unknown argument: frobnicate/m);
  });

  it('asks for a command when given none', async () => {
    const result = await runExt([]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /name a command: build, pack, inspect, dev or publish/);
  });
});

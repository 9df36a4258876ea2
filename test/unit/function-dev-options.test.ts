import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveDevFunction } from '../../src/core/dev/function.js';
import { emulatorOptions } from '../../src/core/dev/options.js';
import { watchedUnder } from '../../src/core/dev/watch.js';
import type { RuntimeCommand } from '../../src/core/emulator/types.js';
import { CliError } from '../../src/core/errors.js';
import type { ErrorCode } from '../../src/core/error-codes.js';
import type { PreparedFunction } from '../../src/core/function/index.js';

const withCode =
  (code: ErrorCode) =>
  (error: unknown): boolean =>
    error instanceof CliError && error.code === code;

let project: string;
let bare: string;

const config = {
  name: 'my-ext',
  language: 'go',
  entry: '.',
  architectures: ['x86_64'],
  version: '1.0.0',
  dev: { function: { path: 'example-function', runtime: 'python3.13', handler: 'app.handler', event: 'e.json' } },
};

before(async () => {
  project = await mkdtemp(path.join(os.tmpdir(), 'dev-options-'));
  bare = await mkdtemp(path.join(os.tmpdir(), 'dev-options-bare-'));
  await writeFile(path.join(project, 'lambda-extension.json'), JSON.stringify(config));
});

after(async () => {
  await rm(project, { recursive: true, force: true });
  await rm(bare, { recursive: true, force: true });
});

describe('which function ext dev runs', () => {
  it('dev.function gives every default, relative to the project', async () => {
    const request = await resolveDevFunction({ projectDirectory: project });
    assert.equal(request?.path, 'example-function');
    assert.equal(request?.runtime, 'python3.13');
    assert.equal(request?.handler, 'app.handler');
    assert.equal(request?.event, 'e.json');
    assert.equal(request?.baseDirectory, project);
    assert.match(request?.runtimeLabel ?? '', /^"dev\.function\.runtime" in /);
  });

  it('a flag wins over its field', async () => {
    const request = await resolveDevFunction({
      projectDirectory: project,
      functionCode: { handler: 'other.handler', event: '-', runtime: 'python3.12' },
    });
    assert.equal(request?.path, 'example-function');
    assert.equal(request?.handler, 'other.handler');
    assert.equal(request?.event, '-');
    assert.equal(request?.runtime, 'python3.12');
    assert.equal(request?.runtimeLabel, '--runtime');
  });

  it('a --function takes nothing from dev.function, which describes another function', async () => {
    await assert.rejects(
      resolveDevFunction({ projectDirectory: project, functionCode: { path: 'elsewhere' } }),
      withCode('E_FUNCTION_RUNTIME_MISSING'),
    );
    const request = await resolveDevFunction({
      projectDirectory: project,
      functionCode: { path: 'elsewhere', runtime: 'nodejs22.x' },
    });
    assert.equal(request?.handler, undefined);
    assert.equal(request?.event, undefined);
  });

  it('--python with another runtime is a usage error', async () => {
    await assert.rejects(
      resolveDevFunction({
        projectDirectory: bare,
        functionCode: { path: 'f', runtime: 'nodejs22.x', pythonPath: '/usr/bin/python3' },
      }),
      withCode('E_USAGE'),
    );
  });

  it('--no-function (false) runs the simulated handler whatever the config says', async () => {
    assert.equal(await resolveDevFunction({ projectDirectory: project, functionCode: false }), undefined);
  });

  it('no function anywhere: the simulated handler; function flags alone are a usage error', async () => {
    assert.equal(await resolveDevFunction({ projectDirectory: bare }), undefined);
    assert.equal(await resolveDevFunction({ projectDirectory: bare, layer: 'layer.zip', functionCode: {} }), undefined);
    await assert.rejects(
      resolveDevFunction({ projectDirectory: bare, functionCode: { runtime: 'nodejs22.x', event: 'e.json' } }),
      (error: unknown) =>
        error instanceof CliError && error.code === 'E_USAGE' && /--runtime, --event/.test(error.message),
    );
  });
});

describe('the emulator options of a run with a function', () => {
  const runtime: RuntimeCommand = { command: '/bin/true', args: [], env: {}, cwd: '/', description: 'test' };
  const prepared = (credentials: Record<string, string>): PreparedFunction => ({
    runtime,
    handler: 'index.handler',
    runtimeName: 'nodejs22.x',
    taskRoot: '/',
    warnings: [],
    credentials,
    cleanup: async () => {},
  });
  const layer = { directory: '/layer', cleanup: async () => {} };

  it('hands over the runtime, the handler and the events; one invoke per event unless --invokes', () => {
    const events = [{ payload: '1' }, { payload: '2' }];
    const options = emulatorOptions({ projectDirectory: '.', env: { A: '1' } }, layer, undefined, {
      prepared: prepared({}),
      events,
    });
    assert.equal(options.runtime, runtime);
    assert.equal(options.handler, 'index.handler');
    assert.deepEqual(options.events, events);
    assert.equal(options.invokes, 2);
    assert.deepEqual(options.env, { A: '1' });
    assert.equal(
      emulatorOptions({ projectDirectory: '.', invokes: 5 }, layer, undefined, { prepared: prepared({}), events })
        .invokes,
      5,
    );
  });

  it('the extensions get the passed credentials too, and none otherwise', () => {
    const passed = emulatorOptions({ projectDirectory: '.', env: { A: '1' } }, layer, undefined, {
      prepared: prepared({ AWS_ACCESS_KEY_ID: 'AKIA' }),
    });
    assert.deepEqual(passed.env, { A: '1', AWS_ACCESS_KEY_ID: 'AKIA' });
    const simulated = emulatorOptions({ projectDirectory: '.' }, layer, undefined);
    assert.equal(simulated.env, undefined);
    assert.equal(simulated.runtime, undefined);
    assert.equal('functionCode' in simulated, false);
  });
});

describe('--watch with a function', () => {
  it('polls the function too when the watched folder does not hold it, or holds it in a skipped folder', () => {
    assert.equal(watchedUnder('/project', '/project/example-function'), true);
    assert.equal(watchedUnder('/project', '/project'), true);
    assert.equal(watchedUnder('/project', '/elsewhere/function'), false);
    assert.equal(watchedUnder('/project', '/project-other/function'), false);
    assert.equal(watchedUnder('/project', '/project/dist/function.zip'), false);
    assert.equal(watchedUnder('/project', '/project/a/node_modules/f'), false);
  });
});

import assert from 'node:assert/strict';
import { scaled } from '../helpers/time-scale.js';
import { describe, it } from 'node:test';
import { configProblems, parseConfig } from '../../src/core/config.js';
import { CliError } from '../../src/core/errors.js';
import type { ErrorCode } from '../../src/core/error-codes.js';

/** A CliError with this code (the message is for people; tests match the code). */
const withCode =
  (code: ErrorCode) =>
  (error: unknown): boolean =>
    error instanceof CliError && error.code === code;

const valid = { name: 'my-ext', language: 'go', entry: '.', architectures: ['arm64', 'x86_64'], version: '1.0.0' };

describe('lambda-extension.json validation', () => {
  it('accepts a valid config and normalises the architecture order', () => {
    assert.deepEqual(configProblems(valid), []);
    assert.deepEqual(parseConfig(JSON.stringify({ $schema: 'x', ...valid }), 'f').architectures, ['x86_64', 'arm64']);
  });
  const cases: [string, unknown, RegExp][] = [
    ['missing name', { ...valid, name: undefined }, /"name" is missing/],
    ['bad name', { ...valid, name: '../x' }, /"name": "\.\.\/x" is not a valid extension name/],
    ['bad language', { ...valid, language: 'rust' }, /"language" must be "go" or "ts", not "rust"/],
    ['empty architectures', { ...valid, architectures: [] }, /"architectures" must be a non-empty array/],
    [
      'bad architecture',
      { ...valid, architectures: ['amd64'] },
      /"architectures\[0\]" must be one of "x86_64", "arm64", not "amd64"/,
    ],
    ['duplicate architecture', { ...valid, architectures: ['arm64', 'arm64'] }, /"architectures" lists a value twice/],
    ['bad event', { ...valid, events: ['START'] }, /"events\[0\]" must be one of "INVOKE", "SHUTDOWN"/],
    ['unknown field', { ...valid, arch: 'x' }, /"arch" is not a known field/],
    ['version type', { ...valid, version: 3 }, /"version" must be a non-empty string/],
    ['sourcemap type', { ...valid, sourcemap: 'yes' }, /"sourcemap" must be true or false/],
    ['not an object', [1], /must hold a JSON object/],
    [
      'node flag with a shell character',
      { ...valid, nodeOptions: ['--x=$(id)'] },
      /"nodeOptions\[0\]" must be a node flag/,
    ],
    ['node flag without dashes', { ...valid, nodeOptions: ['inspect'] }, /"nodeOptions\[0\]" must be a node flag/],
    ['nodeOptions not a list', { ...valid, nodeOptions: '--x' }, /"nodeOptions" must be an array/],
    ['unknown flush', { ...valid, telemetry: { flush: 'sometimes' } }, /"telemetry\.flush" must be end, periodic:<ms>/],
    ['periodic without interval', { ...valid, telemetry: { flush: 'periodic' } }, /periodic needs its interval/],
    ['periodic too often', { ...valid, telemetry: { flush: 'periodic:10' } }, /"telemetry\.flush" must be/],
    ['telemetry not an object', { ...valid, telemetry: 'end' }, /"telemetry" must be an object/],
    ['unknown telemetry field', { ...valid, telemetry: { sink: 'http' } }, /"telemetry" has no field "sink"/],
  ];
  for (const [label, value, pattern] of cases) {
    it(`names the field: ${label}`, () => {
      const problems = configProblems(JSON.parse(JSON.stringify(value)));
      assert.ok(
        problems.some((problem) => pattern.test(problem)),
        problems.join('\n'),
      );
    });
  }
  it('accepts every flush strategy', () => {
    for (const flush of ['end', 'periodic:50', 'periodic:600000', 'continuous', 'adaptive']) {
      assert.deepEqual(configProblems({ ...valid, telemetry: { flush } }), [], flush);
    }
  });
  it('accepts node flags with values', () => {
    assert.deepEqual(
      configProblems({ ...valid, nodeOptions: ['--max-semi-space-size=1', '--enable-source-maps'] }),
      [],
    );
  });
  it('reports invalid JSON with the path', () => {
    assert.throws(
      () => parseConfig('{', '/p/lambda-extension.json'),
      (error: unknown) =>
        withCode('E_CONFIG_NOT_JSON')(error) && (error as Error).message.startsWith('/p/lambda-extension.json'),
    );
  });

  it('accepts a UTF-8 byte-order mark at the start of the file', () => {
    assert.equal(parseConfig(`\ufeff${JSON.stringify(valid)}`, 'f').name, 'my-ext');
  });

  it('reports at most five problems, then how many more, however many there are', { timeout: scaled(10_000) }, () => {
    const events = Array.from({ length: 100_000 }, () => 'START');
    assert.throws(
      () => parseConfig(JSON.stringify({ ...valid, events }), 'f'),
      (error: Error) => {
        assert.ok(withCode('E_CONFIG_INVALID')(error));
        assert.match(error.message, /; and 99996 more problems$/);
        assert.equal(error.message.match(/"events\[\d+\]"/g)?.length, 5);
        assert.ok(error.message.length < 1000, `${error.message.length} characters`);
        return true;
      },
    );
  });

  it('refuses a lambda-extension.json over 1 MiB without reading all of it', { timeout: scaled(10_000) }, async () => {
    const { mkdtemp, rm, writeFile } = await import('node:fs/promises');
    const os = await import('node:os');
    const path = await import('node:path');
    const { readConfig } = await import('../../src/core/config.js');
    const directory = await mkdtemp(path.join(os.tmpdir(), 'config-size-'));
    try {
      await writeFile(
        path.join(directory, 'lambda-extension.json'),
        JSON.stringify({ ...valid, events: Array.from({ length: 300_000 }, () => 'START') }),
      );
      await assert.rejects(readConfig(directory), withCode('E_CONFIG_TOO_LARGE'));
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('build uses the config it is handed and reads no lambda-extension.json of its own', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const os = await import('node:os');
    const path = await import('node:path');
    const { build } = await import('../../src/core/build/index.js');
    // No lambda-extension.json here; --out is the project itself, which build refuses before it runs anything.
    const directory = await mkdtemp(path.join(os.tmpdir(), 'config-once-'));
    try {
      await assert.rejects(build({ projectDirectory: directory, outDirectory: '.' }), withCode('E_CONFIG_MISSING'));
      // As ext pack calls it: the config it read and checked, handed down.
      const config = parseConfig(JSON.stringify({ ...valid, language: 'ts', entry: 'src/index.ts' }), 'f');
      await assert.rejects(
        build({ projectDirectory: directory, config, outDirectory: '.' }),
        withCode('E_OUT_REFUSED'),
      );
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('refuses a version that a command line cannot carry', () => {
    assert.match(configProblems({ ...valid, version: '1 2' }).join(), /"version": "1 2" is not a valid version/);
  });
});

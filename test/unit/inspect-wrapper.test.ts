import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { wrapperLayerPath } from '../../src/core/build/index.js';
import { readWrapper } from '../../src/core/build/wrapper.js';
import { configProblems, type ExtensionConfig } from '../../src/core/config.js';
import { CliError } from '../../src/core/errors.js';
import { inspectZipBuffer, isWrapperPath, type InspectReport } from '../../src/core/inspect/index.js';
import { buildZip, type RawZipEntry } from '../helpers/zip-fixtures.js';

/**
 * Wrapper scripts (AWS_LAMBDA_EXEC_WRAPPER=/opt/<file>): what ext inspect
 * checks in a layer zip, and what ext build refuses to put there.
 */

const extension: RawZipEntry = { name: 'extensions/demo', data: '#!/bin/sh\nexec sleep 1\n', mode: 0o100755 };
const goodWrapper =
  '#!/bin/sh\nAWS_LAMBDA_RUNTIME_API="127.0.0.1:${DEMO_PORT:-9009}"\nexport AWS_LAMBDA_RUNTIME_API\nexec "$@"\n';

function report(wrapper: Partial<RawZipEntry> & { data?: string | Buffer }, name = 'demo-wrapper'): InspectReport {
  return inspectZipBuffer(
    buildZip([extension, { name, mode: 0o100755, data: goodWrapper, ...wrapper }]),
    'demo-x86_64.zip',
  );
}

function wrapperCodes(result: InspectReport): string[] {
  return result.findings
    .filter((finding) => finding.code.startsWith('wrapper-'))
    .map((finding) => `${finding.severity}:${finding.code}`);
}

test('wrapper scripts are the root files named wrapper, *-wrapper, *_wrapper, with or without .sh', () => {
  for (const name of ['wrapper', 'demo-wrapper', 'datadog_wrapper', 'wrapper.sh', 'demo-wrapper.sh', 'Demo.Wrapper'])
    assert.equal(isWrapperPath(name), true, name);
  for (const name of ['extensions/demo-wrapper', 'demo/wrapper', 'wrappers', 'mywrapper', 'wrapper.py', 'bootstrap'])
    assert.equal(isWrapperPath(name), false, name);
});

test('a good wrapper is listed, with no finding', () => {
  const result = report({});
  assert.deepEqual(result.wrappers, [{ path: 'demo-wrapper', kind: 'script', interpreter: '/bin/sh' }]);
  assert.deepEqual(wrapperCodes(result), []);
  assert.equal(result.ok, true);
});

test('a wrapper without the execute bit, or from a zip without Unix modes, is an error', () => {
  assert.deepEqual(wrapperCodes(report({ mode: 0o100644 })), ['error:wrapper-not-executable']);
  assert.match(report({ mode: 0o100644 }).findings[0]?.message ?? '', /mode 0644/);
  assert.deepEqual(wrapperCodes(report({ platform: 0, mode: 0 })), ['error:wrapper-not-executable']);
});

test('CRLF line endings are refused, on the #! line or after it', () => {
  assert.deepEqual(wrapperCodes(report({ data: goodWrapper.replaceAll('\n', '\r\n') })), ['error:wrapper-crlf']);
  const later = report({
    data: goodWrapper.replace('export AWS_LAMBDA_RUNTIME_API\n', 'export AWS_LAMBDA_RUNTIME_API\r\n'),
  });
  assert.deepEqual(wrapperCodes(later), ['error:wrapper-crlf']);
  assert.match(
    later.findings.find((finding) => finding.code === 'wrapper-crlf')?.message ?? '',
    /line 3 ends with CRLF/,
  );
  assert.equal(later.ok, false);
});

test('a wrapper without a #! line is an error', () => {
  assert.deepEqual(wrapperCodes(report({ data: 'exec "$@"\n' })), ['error:wrapper-missing-shebang']);
});

test('a wrapper that never runs "$@", or runs it without exec, gets a warning', () => {
  assert.deepEqual(
    wrapperCodes(report({ data: '#!/bin/sh\n# exec "$@" in a comment does not count\nexec /var/runtime/bootstrap\n' })),
    ['warning:wrapper-ignores-arguments'],
  );
  assert.deepEqual(wrapperCodes(report({ data: '#!/bin/sh\n"$@"\n' })), ['warning:wrapper-without-exec']);
  assert.deepEqual(wrapperCodes(report({ data: '#!/bin/bash\nargs=("$@")\nexec "${args[@]}"\n' })), []);
});

test('a compiled wrapper is checked for its execute bit only', () => {
  const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), Buffer.alloc(60)]);
  const result = report({ data: elf, mode: 0o100755 });
  assert.equal(result.wrappers[0]?.kind, 'elf');
  assert.deepEqual(wrapperCodes(result), []);
});

test('files that are not named like wrappers are left alone', () => {
  const result = inspectZipBuffer(
    buildZip([extension, { name: 'demo/helper.sh', data: 'echo\r\n', mode: 0o100644 }]),
    'demo-x86_64.zip',
  );
  assert.deepEqual(result.wrappers, []);
  assert.deepEqual(wrapperCodes(result), []);
});

test('"wrapper" in lambda-extension.json is a path inside the project', () => {
  const base = { name: 'demo', language: 'go', entry: '.', architectures: ['x86_64'], version: '0.1.0' };
  assert.deepEqual(configProblems({ ...base, wrapper: 'wrapper.sh' }), []);
  assert.deepEqual(configProblems({ ...base, wrapper: 'scripts/wrapper.sh' }), []);
  for (const wrapper of ['', '/opt/wrapper', '../wrapper.sh', 'a\\b', 42])
    assert.equal(configProblems({ ...base, wrapper }).length, 1, JSON.stringify(wrapper));
});

test('ext build takes the wrapper as /opt/<name>-wrapper, 0755, and refuses one Lambda could not run', async (t) => {
  const project = await mkdtemp(path.join(os.tmpdir(), 'wrapper-unit-'));
  t.after(() => rm(project, { recursive: true, force: true }));
  const config: ExtensionConfig = {
    name: 'demo',
    language: 'go',
    entry: '.',
    architectures: ['x86_64'],
    version: '0.1.0',
    wrapper: 'wrapper.sh',
  };
  assert.equal(wrapperLayerPath('demo'), 'demo-wrapper');
  assert.equal(await readWrapper({ ...config, wrapper: undefined } as unknown as ExtensionConfig, project), undefined);
  const refused = (code: string) => (error: unknown) => error instanceof CliError && error.code === code;
  await assert.rejects(readWrapper(config, project), refused('E_BUILD_WRAPPER_MISSING'));
  await writeFile(path.join(project, 'wrapper.sh'), goodWrapper);
  const file = await readWrapper(config, project);
  assert.equal(file?.path, 'demo-wrapper');
  assert.equal(file?.mode, 0o755);
  assert.equal(String(file?.contents), goodWrapper);
  await writeFile(path.join(project, 'wrapper.sh'), goodWrapper.replaceAll('\n', '\r\n'));
  await assert.rejects(readWrapper(config, project), refused('E_BUILD_WRAPPER_INVALID'));
  await writeFile(path.join(project, 'wrapper.sh'), 'exec "$@"\n');
  await assert.rejects(readWrapper(config, project), refused('E_BUILD_WRAPPER_INVALID'));
});

import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { runEmulator, type TelemetryEnvelope } from '../../src/core/emulator/index.js';
import { CliError } from '../../src/core/errors.js';
import { addNodeExtension, freePort } from '../helpers/emulator-fixtures.js';
import { temporaryFolders } from '../helpers/paths.js';

/*
 * Tenant isolation: an invoke for a tenant (X-Amz-Tenant-Id in RIE) names it in the platform records of that
 * invoke, `tenantId` right after `requestId`, and no record names one when the invoke has none.
 */

const temporary = temporaryFolders();

async function invokeRecords(options: { tenantId?: string; managedInstances?: boolean }): Promise<TelemetryEnvelope[]> {
  const layer = await temporary('tenant-');
  await mkdir(path.join(layer, 'extensions'));
  const file = path.join(layer, 'telemetry.jsonl');
  await addNodeExtension(layer, 'subscriber', {
    events: options.managedInstances === true ? ['SHUTDOWN'] : ['INVOKE', 'SHUTDOWN'],
    telemetry: {
      port: await freePort(),
      file,
      types: ['platform'],
      schemaVersion: options.managedInstances === true ? '2025-01-29' : '2022-12-13',
      buffering: { timeoutMs: 25 },
    },
  });
  const report = await runEmulator({
    layerDirectory: layer,
    invokes: 2,
    function: { durationMs: 20 },
    shutdownBudgetMs: 1500,
    ...(options.tenantId === undefined ? {} : { tenantId: options.tenantId }),
    ...(options.managedInstances === true ? { managedInstances: { maxConcurrency: 2 } } : {}),
  });
  assert.equal(report.status, 'passed', JSON.stringify(report.verdicts));
  return (await readFile(file, 'utf8'))
    .split('\n')
    .filter((line) => line !== '')
    .flatMap((line) => JSON.parse(line) as TelemetryEnvelope[]);
}

const perInvoke = ['platform.start', 'platform.runtimeDone', 'platform.report'];

test('an invoke for a tenant names it in platform.start, runtimeDone and report, after requestId', async () => {
  const records = await invokeRecords({ tenantId: 'tenant-42' });
  const named = records.filter((entry) => perInvoke.includes(entry.type));
  assert.equal(named.length, 6, records.map((entry) => entry.type).join(', '));
  for (const entry of named) {
    const record = entry.record as Record<string, unknown>;
    assert.equal(record['tenantId'], 'tenant-42', entry.type);
    assert.deepEqual(Object.keys(record).slice(0, 2), ['requestId', 'tenantId'], entry.type);
  }
  // Records of the environment, not of an invoke, have no tenant.
  const others = records.filter((entry) => !perInvoke.includes(entry.type));
  assert.ok(others.length > 0);
  assert.ok(others.every((entry) => !Object.hasOwn(entry.record as object, 'tenantId')));
});

test('without a tenant no record carries tenantId; on Managed Instances start and report carry it', async () => {
  const none = await invokeRecords({});
  assert.ok(none.every((entry) => !Object.hasOwn(entry.record as object, 'tenantId')));
  const managed = await invokeRecords({ tenantId: 't', managedInstances: true });
  const named = managed.filter((entry) => (entry.record as Record<string, unknown>)['tenantId'] === 't');
  assert.deepEqual([...new Set(named.map((entry) => entry.type))].sort(), ['platform.report', 'platform.start']);
});

test('a tenant ID that is empty, too long or holds a control character is refused before anything runs', async () => {
  const layer = await temporary('tenant-refused-');
  await mkdir(path.join(layer, 'extensions'));
  await addNodeExtension(layer, 'idle', {});
  for (const tenantId of ['', 'x'.repeat(257), 'a\nb']) {
    await assert.rejects(
      runEmulator({ layerDirectory: layer, tenantId }),
      (error) => error instanceof CliError && error.code === 'E_EMULATOR_TENANT_ID_INVALID' && error.exitCode === 2,
    );
  }
});

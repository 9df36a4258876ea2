import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import { Emulator, runEmulator, type EmulatorReport, type TelemetryEnvelope } from '../../src/core/emulator/index.js';
import { CliError } from '../../src/core/errors.js';
import { addFile, addNodeExtension, freePort, makeLayer, rawRequest } from '../helpers/emulator-fixtures.js';

/**
 * `ext dev --managed-instances`: the emulator behaves as RIE's LMI mode
 * (internal/lambda-managed-instances/), with fixture extensions and, for the
 * HTTP answers, a raw client registering in place of a launched file.
 */
const layers: string[] = [];
after(async () => {
  await Promise.all(layers.map((layer) => rm(layer, { recursive: true, force: true })));
});

async function layerWith(): Promise<string> {
  const layer = await makeLayer();
  layers.push(layer);
  return layer;
}

const outputLines = (report: EmulatorReport) =>
  report.timeline.filter((entry) => entry.kind === 'output').map((entry) => entry.text);

test('an extension registering INVOKE and SHUTDOWN is refused (403 Extension.InvalidEventType, a note), exits, Crash, Init fails', async () => {
  const layer = await layerWith();
  await addNodeExtension(layer, 'per-invoke', { events: ['INVOKE', 'SHUTDOWN'], exitOnRegisterFailure: true });
  const report = await runEmulator({
    layerDirectory: layer,
    invokes: 3,
    managedInstances: { maxConcurrency: 2 },
    shutdownBudgetMs: 500,
  });
  assert.equal(report.status, 'failed');
  assert.equal(report.exitCode, 1);
  assert.equal(report.computeMode, 'managed-instances');
  assert.deepEqual(
    report.verdicts.map((verdict) => [verdict.kind, verdict.errorType, verdict.phase]),
    [['crash', 'Extension.Crash', 'init']],
    'the refusal itself is no verdict (RIE records no error for it); the exit that follows is',
  );
  const notes = report.timeline.filter((entry) => entry.kind === 'note').map((entry) => entry.text);
  assert.ok(
    notes.some((text) => /register refused \(403 Extension\.InvalidEventType\).*"INVOKE".*SHUTDOWN only/.test(text)),
    notes.join('\n'),
  );
  assert.equal(report.inits[0]?.status, 'error');
  assert.equal(report.invokes.length, 0, 'Lambda does not invoke a failed environment');
  // What the extension was told, as it printed it: RIE's status, errorType and message.
  const refusal = outputLines(report).find((line) => line.includes('register failed'));
  assert.ok(refusal, outputLines(report).join('\n'));
  assert.match(refusal, /register failed 403 .*"errorType":"Extension.InvalidEventType"/);
  assert.match(refusal, /INVOKE: ErrorInvalidEventType/);
});

test('a SHUTDOWN-only extension passes: K invokes, at most N in flight, AWS_LAMBDA_MAX_CONCURRENCY in its environment', async () => {
  const layer = await layerWith();
  const environmentFile = path.join(layer, 'environment.json');
  await addNodeExtension(layer, 'timer-based', { events: ['SHUTDOWN'], environmentFile });
  const report = await runEmulator({
    layerDirectory: layer,
    invokes: 7,
    managedInstances: { maxConcurrency: 3 },
    function: { durationMs: 250 },
    shutdownBudgetMs: 1000,
  });
  assert.equal(report.status, 'passed', JSON.stringify(report.verdicts));
  assert.equal(report.computeMode, 'managed-instances');
  assert.equal(report.maxConcurrency, 3);
  assert.equal(report.invokes.length, 7);
  assert.ok(report.maxInFlight > 1 && report.maxInFlight <= 3, `max in flight ${report.maxInFlight}`);
  for (const invoke of report.invokes) {
    assert.equal(invoke.status, 'success');
    assert.equal(invoke.postRuntimeExtensionsDurationMs, 0);
    assert.ok(invoke.inFlightAtStart >= 1 && invoke.inFlightAtStart <= 3);
    assert.ok(invoke.endMs - invoke.startMs >= 250);
  }
  // Checked from the start and end times too: never more than 3 overlap.
  const overlapping = report.invokes.map(
    (invoke) =>
      report.invokes.filter((other) => other.startMs <= invoke.startMs && other.endMs > invoke.startMs).length,
  );
  assert.ok(Math.max(...overlapping) > 1 && Math.max(...overlapping) <= 3, `overlaps ${overlapping.join(',')}`);
  // 7 invokes of 250 ms, 3 at a time, take about 3 rounds, not 7.
  const span = Math.max(...report.invokes.map((invoke) => invoke.endMs)) - report.invokes[0]!.startMs;
  assert.ok(span < 7 * 250, `7 invokes took ${span} ms`);

  const starts = report.timeline.filter((entry) => entry.kind === 'start').map((entry) => entry.text);
  assert.ok(
    starts.every((text) => /Concurrency: [1-3]\/3$/.test(text)),
    starts.join('\n'),
  );
  const reports = report.timeline.filter((entry) => entry.kind === 'report').map((entry) => entry.text);
  assert.equal(reports.length, 7);
  assert.ok(reports.every((text) => !text.includes('PostRuntimeExtensionsDuration')));
  assert.deepEqual(report.extensions[0]?.events, ['SHUTDOWN']);
  assert.equal(report.shutdown?.extensions[0]?.outcome, 'exited');

  const environment = JSON.parse(await readFile(environmentFile, 'utf8')) as Record<string, string>;
  assert.equal(environment['AWS_LAMBDA_MAX_CONCURRENCY'], '3');
  assert.equal(environment['AWS_LAMBDA_INITIALIZATION_TYPE'], 'lambda-managed-instances');
});

test('on demand, nothing changes: no AWS_LAMBDA_MAX_CONCURRENCY, one invoke at a time', async () => {
  const layer = await layerWith();
  const environmentFile = path.join(layer, 'environment.json');
  await addNodeExtension(layer, 'classic', { environmentFile });
  const report = await runEmulator({ layerDirectory: layer, invokes: 2, function: { durationMs: 20 } });
  assert.equal(report.status, 'passed');
  assert.equal(report.computeMode, 'on-demand');
  assert.equal(report.maxConcurrency, 1);
  assert.equal(report.maxInFlight, 1);
  const environment = JSON.parse(await readFile(environmentFile, 'utf8')) as Record<string, string>;
  assert.equal(environment['AWS_LAMBDA_MAX_CONCURRENCY'], undefined);
  assert.equal(environment['AWS_LAMBDA_INITIALIZATION_TYPE'], 'on-demand');
});

test('telemetry: schemaVersion 2022-12-13 is refused with 400 ValidationError', async () => {
  const layer = await layerWith();
  const answerFile = path.join(layer, 'answer.json');
  const port = await freePort();
  await addNodeExtension(layer, 'old-schema', {
    events: ['SHUTDOWN'],
    telemetry: {
      port,
      file: path.join(layer, 'telemetry.jsonl'),
      types: ['function'],
      schemaVersion: '2022-12-13',
      answerFile,
    },
  });
  const report = await runEmulator({
    layerDirectory: layer,
    managedInstances: { maxConcurrency: 2 },
    shutdownBudgetMs: 500,
  });
  const answer = JSON.parse(await readFile(answerFile, 'utf8')) as { status: number; body: string };
  assert.equal(answer.status, 400);
  const body = JSON.parse(answer.body) as Record<string, string>;
  assert.equal(body['errorType'], 'ValidationError');
  assert.match(body['errorMessage']!, /schema validation error: .*\/schemaVersion.*2025-01-29/);
  assert.equal(report.telemetry.subscriptions.length, 0);
});

test('telemetry: schemaVersion 2025-01-29 delivers, function lines of concurrent invokes interleave, no platform.runtimeDone', async () => {
  const layer = await layerWith();
  const file = path.join(layer, 'telemetry.jsonl');
  const port = await freePort();
  await addNodeExtension(layer, 'subscriber', {
    events: ['SHUTDOWN'],
    telemetry: {
      port,
      file,
      types: ['platform', 'function'],
      schemaVersion: '2025-01-29',
      buffering: { timeoutMs: 25 },
    },
  });
  const report = await runEmulator({
    layerDirectory: layer,
    invokes: 3,
    managedInstances: { maxConcurrency: 3 },
    function: { durationMs: 300, logLines: ['first', 'second'] },
    shutdownBudgetMs: 1500,
  });
  assert.equal(report.status, 'passed', JSON.stringify(report.verdicts));
  assert.equal(report.telemetry.subscriptions[0]?.schemaVersion, '2025-01-29');
  const records = (await readFile(file, 'utf8'))
    .split('\n')
    .filter((line) => line !== '')
    .flatMap((line) => JSON.parse(line) as TelemetryEnvelope[]);
  const functionLines = records.filter((entry) => entry.type === 'function').map((entry) => entry.record);
  assert.equal(functionLines.length, 6);
  // All three invokes print "first" before any prints "second": they ran at once.
  assert.deepEqual(functionLines.slice(0, 2), ['first', 'first']);
  const types = records.map((entry) => entry.type);
  assert.equal(types.filter((type) => type === 'platform.start').length, 3);
  assert.equal(types.filter((type) => type === 'platform.report').length, 3);
  assert.equal(types.filter((type) => type === 'platform.runtimeDone').length, 0);
  // As Lambda's Managed Instances send it: the report's metrics are durationMs alone.
  for (const entry of records.filter((record) => record.type === 'platform.report')) {
    const metrics = (entry.record as { metrics: Record<string, unknown> }).metrics;
    assert.deepEqual(Object.keys(metrics), ['durationMs']);
    assert.equal(typeof metrics['durationMs'], 'number');
  }
  const initStart = records.find((entry) => entry.type === 'platform.initStart');
  assert.equal((initStart?.record as Record<string, unknown>)['initializationType'], 'lambda-managed-instances');
  // The timeline shows the interleaving too: consecutive function lines of different invokes.
  const logs = report.timeline.filter((entry) => entry.kind === 'function-log');
  assert.notEqual(logs[0]?.requestId, logs[1]?.requestId);
});

test('HTTP answers: INVOKE refused for an external, any event for an internal, Logs API 404', async () => {
  const layer = await layerWith();
  await addFile(layer, 'sleeper', '#!/bin/sh\nexec sleep 30\n', 0o755);
  const emulator = new Emulator({
    layerDirectory: layer,
    managedInstances: { maxConcurrency: 2 },
    function: { initDurationMs: 400 },
    initTimeoutMs: 5000,
    shutdownBudgetMs: 300,
  });
  try {
    const api = await emulator.listen();
    const initDone = emulator.start();
    while (!emulator.extensions.some((extension) => extension.pid !== undefined)) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const register = (name: string, events: string[]) =>
      rawRequest(
        api,
        'POST',
        '/2020-01-01/extension/register',
        { 'Lambda-Extension-Name': name },
        JSON.stringify({ events }),
      );
    const invoke = await register('sleeper', ['INVOKE']);
    assert.equal(invoke.status, 403);
    assert.deepEqual(invoke.json(), {
      errorMessage: 'INVOKE: ErrorInvalidEventType',
      errorType: 'Extension.InvalidEventType',
    });
    const internal = await register('in-process', ['INVOKE']);
    assert.equal(internal.status, 403);
    assert.deepEqual(internal.json(), {
      errorMessage: 'No events allowed for internal extensions',
      errorType: 'Extension.InvalidEventType',
    });
    const accepted = await register('sleeper', ['SHUTDOWN']);
    assert.equal(accepted.status, 200, accepted.body);
    const id = String(accepted.headers['lambda-extension-identifier']);
    const logs = await rawRequest(
      api,
      'PUT',
      '/2020-08-15/logs',
      { 'Lambda-Extension-Identifier': id },
      JSON.stringify({ types: ['function'], destination: { protocol: 'HTTP', URI: 'http://sandbox:9999' } }),
    );
    assert.equal(logs.status, 404);
    assert.equal(logs.body, '404 page not found\n');
    const next = rawRequest(api, 'GET', '/2020-01-01/extension/event/next', { 'Lambda-Extension-Identifier': id });
    await initDone;
    await emulator.shutdown();
    assert.equal((await next).json()['eventType'], 'SHUTDOWN');
    const report = emulator.report();
    assert.equal(report.telemetry.logsApiCalls, 1);
    assert.ok(report.timeline.some((entry) => /Managed Instances have no Logs API/.test(entry.text)));
  } finally {
    await emulator.close();
  }
});

test('a function timeout ends that invoke only: no reset, other invokes go on', async () => {
  const layer = await layerWith();
  await addNodeExtension(layer, 'timer', { events: ['SHUTDOWN'] });
  const report = await runEmulator({
    layerDirectory: layer,
    invokes: 3,
    managedInstances: { maxConcurrency: 3 },
    function: { durationMs: 1500, timeoutSeconds: 0.3 },
    shutdownBudgetMs: 500,
  });
  assert.equal(report.status, 'passed', JSON.stringify(report.verdicts));
  assert.deepEqual(
    report.invokes.map((invoke) => invoke.status),
    ['timeout', 'timeout', 'timeout'],
  );
  assert.equal(report.inits.length, 1);
  assert.equal(report.shutdown?.reason, 'spindown');
});

test('an extension crashing while invokes are in flight fails them all, and the environment resets once', async () => {
  const layer = await layerWith();
  await addNodeExtension(layer, 'fragile', { events: ['SHUTDOWN'], exitAfterMs: 150, exitCode: 3 });
  const report = await runEmulator({
    layerDirectory: layer,
    invokes: 6,
    managedInstances: { maxConcurrency: 2 },
    function: { durationMs: 1000 },
    shutdownBudgetMs: 500,
  });
  assert.equal(report.status, 'failed');
  assert.deepEqual(
    report.verdicts.map((verdict) => [verdict.kind, verdict.phase]),
    [['crash', 'invoke']],
  );
  assert.deepEqual(
    report.invokes.map((invoke) => invoke.status),
    ['failure', 'failure'],
    'the two in flight fail, no new invoke starts',
  );
  assert.equal(report.shutdown?.reason, 'failure');
  assert.equal(report.timeline.filter((entry) => /^SHUTDOWN Reason/.test(entry.text)).length, 1);
});

test('managedInstances.maxConcurrency outside 1..64 is refused', () => {
  for (const maxConcurrency of [0, 65, 2.5]) {
    assert.throws(
      () => new Emulator({ layerDirectory: '.', managedInstances: { maxConcurrency } }),
      (error: unknown) => error instanceof CliError && error.code === 'E_EMULATOR_CONCURRENCY',
    );
  }
});

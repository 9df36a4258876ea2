import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runEmulator, type EmulatorReport } from '../../src/core/emulator/index.js';
import { describeRun, runCreate, runExt, temporaryDirectory } from '../helpers/run-cli.js';
import { deadSinkUrl, startTelemetrySink, type ShippedRecord } from '../helpers/telemetry-sink.js';

/**
 * The TypeScript telemetry template, scaffolded and built with the bins, run
 * under the emulator with real Telemetry API delivery against healthy, dead
 * and slow destinations, and with the stdout sink.
 */

const name = 'tel-ts';
const prefix = 'TEL_TS_';
const timeoutMs = 1000;
let workspace: { path: string; cleanup: () => Promise<void> };
let layer: string;

before(async () => {
  workspace = await temporaryDirectory('cle-telemetry-ts-');
  const project = path.join(workspace.path, name);
  const created = await runCreate([project, '--lang', 'ts', '--template', 'telemetry', '--yes']);
  assert.equal(created.code, 0, describeRun(created));
  const built = await runExt(['build', '--arch', 'x86_64'], { cwd: project, timeoutMs: 120_000 });
  assert.equal(built.code, 0, describeRun(built));
  layer = path.join(project, 'dist', 'x86_64');
});
after(async () => workspace?.cleanup());

interface Run {
  report: EmulatorReport;
  /** The extension's log lines. */
  logs: Record<string, unknown>[];
  /** Records the stdout sink printed. */
  printed: (ShippedRecord & { extension: string })[];
}

async function emulate(options: {
  invokes: number;
  intervalMs?: number;
  logLines?: string[];
  env: Record<string, string | number>;
}): Promise<Run> {
  const logs: Run['logs'] = [];
  const printed: Run['printed'] = [];
  const report = await runEmulator({
    layerDirectory: layer,
    invokes: options.invokes,
    intervalMs: options.intervalMs ?? 0,
    function: { durationMs: 2, timeoutSeconds: timeoutMs / 1000, logLines: options.logLines ?? [] },
    // Port 0: a free port, so test files running in parallel never collide.
    env: Object.fromEntries(
      Object.entries({ PORT: 0, ...options.env }).map(([key, value]) => [`${prefix}${key}`, String(value)]),
    ),
    onExtensionOutput: (extension, _stream, line) => {
      if (extension !== name) return;
      const parsed = JSON.parse(line) as Record<string, unknown>;
      assert.equal(parsed['extension'], name, `every line carries the extension's name: ${line}`);
      if ('type' in parsed && 'record' in parsed) printed.push(parsed as unknown as Run['printed'][number]);
      else logs.push(parsed);
    },
  });
  return { report, logs, printed };
}

function logLine(run: Run, msg: string): Record<string, unknown> {
  const found = run.logs.find((line) => line['msg'] === msg);
  assert.ok(found, `no "${msg}" line in ${JSON.stringify(run.logs.map((line) => line['msg']))}`);
  return found;
}

/** The guarantees that hold whatever the destination does. */
function assertWellBehaved({ report }: Run, invokes: number): void {
  assert.deepEqual(report.verdicts, [], 'no crash, no invoke timeout, no shutdown timeout');
  assert.equal(report.invokes.length, invokes, 'the extension stayed up for every invoke');
  for (const invoke of report.invokes) {
    assert.equal(invoke.status, 'success', `invoke ${invoke.requestId}`);
    assert.ok(invoke.durationMs < timeoutMs, `invoke took ${invoke.durationMs} ms with a ${timeoutMs} ms timeout`);
  }
  const shutdown = report.shutdown?.extensions.find((extension) => extension.name === name);
  assert.equal(shutdown?.outcome, 'exited', 'exited on SHUTDOWN, not killed');
  assert.equal(shutdown?.exitCode, 0);
  assert.ok(
    (report.shutdown?.durationMs ?? Infinity) < 2000,
    `shutdown took ${report.shutdown?.durationMs} ms, budget 2000 ms`,
  );
}

const requestIdOf = (record: ShippedRecord): string => (record.record as { requestId: string }).requestId;

describe('TypeScript telemetry template under the emulator', () => {
  it('ships every platform.report and function line exactly once to a healthy HTTP sink over 200 invokes', async () => {
    const destination = await startTelemetrySink();
    try {
      const invokes = 200;
      const run = await emulate({
        invokes,
        logLines: ['first line', 'second line'],
        env: { SINK: 'http', HTTP_URL: destination.url, BUFFER_TIMEOUT_MS: 25 },
      });
      assertWellBehaved(run, invokes);
      assert.deepEqual(destination.malformed, []);
      const records = destination.records();

      const requestIds = run.report.invokes.map((invoke) => invoke.requestId).sort();
      const reports = records.filter((record) => record.type === 'platform.report');
      assert.deepEqual(reports.map(requestIdOf).sort(), requestIds, 'one platform.report per invoke, no duplicates');
      const starts = records.filter((record) => record.type === 'platform.start');
      assert.deepEqual(starts.map(requestIdOf).sort(), requestIds);

      const functionLines = records.filter((record) => record.type === 'function').map((record) => record.record);
      assert.equal(functionLines.filter((line) => line === 'first line').length, invokes);
      assert.equal(functionLines.filter((line) => line === 'second line').length, invokes);
      assert.equal(functionLines.length, 2 * invokes);
      assert.equal(
        records.filter((record) => record.type === 'extension').length,
        0,
        'none of its own output is shipped',
      );

      const subscription = run.report.telemetry.subscriptions.find((entry) => entry.extension === name);
      assert.equal(subscription?.droppedRecords, 0, 'Lambda dropped nothing: the listener kept up');
      assert.equal(subscription?.schemaVersion, '2022-12-13');
      assert.deepEqual(subscription?.types, ['platform', 'function', 'extension']);
      assert.match(subscription?.destination ?? '', /^http:\/\/sandbox\.localdomain:\d+\/telemetry$/);

      const totals = logLine(run, 'telemetry totals');
      assert.equal(totals['level'], 'info');
      assert.equal(totals['dropped'], 0);
      assert.equal(totals['lost'], 0);
      assert.equal(totals['failedSends'], 0);
      assert.equal(totals['shipped'], records.length);
      assert.deepEqual(
        run.logs.filter((line) => line['level'] !== 'info'),
        [],
      );
    } finally {
      await destination.close();
    }
  });

  it('stays up, keeps invokes within their deadline and reports drops when the sink is down', async () => {
    const url = await deadSinkUrl();
    const invokes = 20;
    const run = await emulate({
      invokes,
      intervalMs: 50,
      logLines: Array<string>(6).fill('a line'),
      env: { SINK: 'http', HTTP_URL: url, BUFFER_TIMEOUT_MS: 25, QUEUE_MAX_RECORDS: 100 },
    });
    assertWellBehaved(run, invokes);
    const warnings = run.logs.filter((line) => line['msg'] === 'telemetry' && line['level'] === 'warn');
    assert.ok(warnings.length > 0 && warnings.length <= invokes, 'at most one summary line per invoke');
    const failures = warnings.filter((line) => Number(line['failedSends']) >= 1);
    assert.ok(failures.length > 0);
    assert.ok(failures.every((line) => /ECONNREFUSED/.test(String(line['lastError']))));
    assert.ok(
      warnings.some((line) => Number(line['dropped']) > 0),
      'drops are reported per invoke',
    );
    assert.equal(
      run.logs
        .filter((line) => String(line['msg']).startsWith('destination failing'))
        .filter((line) => line['level'] === 'warn').length,
      1,
      'the pause is logged once, not per invoke',
    );
    const totals = logLine(run, 'telemetry totals');
    assert.equal(totals['level'], 'warn');
    assert.equal(totals['shipped'], 0);
    assert.ok(Number(totals['dropped']) > 0);
    assert.ok(Number(totals['lost']) > 0 && Number(totals['lost']) <= 100, 'the queue stayed within its 100 records');
    assert.equal(
      Number(totals['dropped']) + Number(totals['lost']),
      Number(totals['received']),
      'every record received is either dropped or lost, all counted',
    );
    // Once the destination has failed, sends pause: later invokes do not wait for it.
    const firstFailure = run.report.invokes.findIndex((invoke) => invoke.requestId === failures[0]?.['requestId']);
    assert.ok(firstFailure >= 0 && firstFailure < invokes - 5, `first failure at invoke ${firstFailure}`);
    const slowest = Math.max(
      ...run.report.invokes.slice(firstFailure + 1).map((invoke) => invoke.postRuntimeExtensionsDurationMs),
    );
    assert.ok(slowest < 200, `a later invoke waited ${slowest} ms for the extension`);
  });

  it('keeps every invoke within its deadline when the sink is slower than the deadline', async () => {
    const destination = await startTelemetrySink({ delayMs: 3 * timeoutMs });
    try {
      const invokes = 4;
      const run = await emulate({
        invokes,
        intervalMs: 50,
        logLines: ['a line'],
        env: { SINK: 'http', HTTP_URL: destination.url, BUFFER_TIMEOUT_MS: 25, HTTP_TIMEOUT_MS: 10_000 },
      });
      assertWellBehaved(run, invokes);
      assert.equal(destination.batches.length, 0, 'nothing was ever answered in time');
      // The first invoke with records to send waits for the destination up to its deadline; then sends
      // pause (1 s) and the next invokes return at once without a request.
      const firstFailure = run.report.invokes.findIndex((invoke) =>
        run.logs.some(
          (line) =>
            line['msg'] === 'telemetry' && line['requestId'] === invoke.requestId && Number(line['failedSends']) >= 1,
        ),
      );
      assert.ok(firstFailure >= 0 && firstFailure < invokes - 1, `first failure at invoke ${firstFailure}`);
      const waited = run.report.invokes[firstFailure]?.postRuntimeExtensionsDurationMs ?? 0;
      assert.ok(waited > 300, `the first failing invoke waited ${waited} ms`);
      const slowest = Math.max(
        ...run.report.invokes.slice(firstFailure + 1).map((invoke) => invoke.postRuntimeExtensionsDurationMs),
      );
      assert.ok(slowest < 100, `a later invoke waited ${slowest} ms for the extension`);
      assert.ok(
        destination.requests >= 1 && destination.requests < invokes,
        `the sink was tried ${destination.requests} times`,
      );
      const totals = logLine(run, 'telemetry totals');
      assert.equal(totals['shipped'], 0);
      assert.equal(totals['level'], 'warn');
      assert.ok(Number(totals['lost']) > 0, 'what could not be sent is counted as lost');
      assert.ok(Number(totals['failedSends']) >= 1, `failedSends ${String(totals['failedSends'])}`);
      assert.ok(
        run.logs.some(
          (line) => line['level'] === 'warn' && line['msg'] === 'destination failing, pausing sends for 1 s',
        ),
        'the pause is logged',
      );
    } finally {
      await destination.close();
    }
  });

  it('does not feed its own stdout back into the stdout sink', async () => {
    const invokes = 30;
    // The interval lets each invoke's records arrive before the next one, as
    // they would in Lambda with the default buffering.
    const run = await emulate({ invokes, intervalMs: 40, env: { BUFFER_TIMEOUT_MS: 25, LOG_LEVEL: 'debug' } });
    assertWellBehaved(run, invokes);
    const perInvoke = run.logs.filter((line) => line['msg'] === 'telemetry').map((line) => Number(line['shipped']));
    assert.equal(perInvoke.length, invokes);
    // Each invoke has three platform events (start, runtimeDone, report); the
    // first ones also carry the Init phase's events, and delivery timing may
    // move some into a neighbouring flush. A feedback loop would grow without bound.
    assert.ok(
      perInvoke.slice(2).every((count) => count <= 6),
      `shipped per invoke: ${perInvoke.join(' ')}`,
    );
    const firstHalf = perInvoke.slice(2, 16).reduce((sum, count) => sum + count, 0);
    const secondHalf = perInvoke.slice(16).reduce((sum, count) => sum + count, 0);
    assert.ok(secondHalf <= firstHalf + 6, `shipped ${firstHalf} then ${secondHalf}: growing`);
    assert.equal(run.printed.filter((record) => record.type === 'extension').length, 0);
    assert.equal(run.printed.filter((record) => record.type === 'platform.report').length, invokes);
    const totals = logLine(run, 'telemetry totals');
    assert.ok(Number(totals['ownLinesSkipped']) >= invokes, 'its own lines did come back, and were skipped');
    assert.equal(totals['dropped'], 0);
    assert.equal(totals['lost'], 0);
  });
});

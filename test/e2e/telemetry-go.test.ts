import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hostArchitecture } from '../../src/core/architectures.js';
import type { EmulatorReport } from '../../src/core/emulator/index.js';
import { describeRun, runCreate, runExt, temporaryDirectory } from '../helpers/run-cli.js';
import { deadSinkUrl, startTelemetrySink, type ShippedRecord } from '../helpers/telemetry-sink.js';

/**
 * The Go telemetry template, built for this machine and run under `ext dev`
 * with real Telemetry API delivery, against healthy, dead and hanging
 * destinations.
 */

const name = 'tel-go';
const prefix = 'TEL_GO_';
let workspace: { path: string; cleanup: () => Promise<void> };
let layer: string;

before(async () => {
  workspace = await temporaryDirectory('cle-telemetry-go-');
  const project = path.join(workspace.path, name);
  const created = await runCreate([project, '--lang', 'go', '--template', 'telemetry', '--yes']);
  assert.equal(created.code, 0, describeRun(created));
  const architecture = hostArchitecture() ?? 'x86_64';
  const built = await runExt(['build', '--arch', architecture], { cwd: project, timeoutMs: 300_000 });
  assert.equal(built.code, 0, describeRun(built));
  layer = path.join(project, 'dist', architecture);
});
after(async () => workspace?.cleanup());

interface ExtensionOutput {
  /** The extension's log lines, by message. */
  logs: Record<string, unknown>[];
  /** Records the stdout sink printed. */
  shipped: (ShippedRecord & { extension: string })[];
}

async function dev(
  args: string[],
  env: Record<string, string | number>,
): Promise<{ report: EmulatorReport; output: ExtensionOutput }> {
  const envArgs = Object.entries(env).flatMap(([key, value]) => ['--env', `${prefix}${key}=${value}`]);
  // Port 0: a free port, so test files running in parallel never collide.
  const result = await runExt(['dev', '--layer', layer, '--json', '--env', `${prefix}PORT=0`, ...envArgs, ...args], {
    timeoutMs: 60_000,
  });
  let report: EmulatorReport;
  try {
    report = JSON.parse(result.stdout) as EmulatorReport;
  } catch {
    assert.fail(`ext dev printed no JSON report\n${describeRun(result)}`);
  }
  const output: ExtensionOutput = { logs: [], shipped: [] };
  for (const entry of report.timeline) {
    if (entry.kind !== 'output' || entry.extension !== name) continue;
    const line = JSON.parse(entry.text.slice(`[${name}] `.length)) as Record<string, unknown>;
    assert.equal(line['extension'], name, `every line carries the extension's name: ${entry.text}`);
    if ('type' in line) output.shipped.push(line as unknown as ExtensionOutput['shipped'][number]);
    else output.logs.push(line);
  }
  return { report, output };
}

function logLine(output: ExtensionOutput, msg: string): Record<string, unknown> {
  const found = output.logs.find((line) => line['msg'] === msg);
  assert.ok(found, `no "${msg}" line in ${JSON.stringify(output.logs.map((line) => line['msg']))}`);
  return found;
}

/** The guarantees that hold whatever the destination does. */
function assertWellBehaved(report: EmulatorReport, invokes: number, timeoutMs: number): void {
  assert.deepEqual(report.verdicts, [], 'no crash, no invoke timeout, no shutdown timeout');
  assert.equal(report.status, 'passed');
  assert.equal(report.invokes.length, invokes, 'the extension stayed up for every invoke');
  for (const invoke of report.invokes) {
    assert.equal(invoke.status, 'success', `invoke ${invoke.requestId}`);
    assert.ok(invoke.durationMs < timeoutMs, `invoke took ${invoke.durationMs} ms with a ${timeoutMs} ms timeout`);
  }
  const shutdown = report.shutdown?.extensions.find((extension) => extension.name === name);
  assert.equal(shutdown?.outcome, 'exited', 'exited on SHUTDOWN, not killed');
  assert.equal(shutdown?.exitCode, 0);
  assert.ok((shutdown?.exitMs ?? Infinity) < 2000, `exited ${shutdown?.exitMs} ms after SHUTDOWN, budget 2000 ms`);
}

describe('Go telemetry template under ext dev', () => {
  it('ships every platform.report and function line exactly once to a healthy HTTP sink over 200 invokes', async () => {
    const sink = await startTelemetrySink();
    try {
      const invokes = 200;
      const { report, output } = await dev(
        [
          '--invokes',
          `${invokes}`,
          '--function-duration',
          '2',
          '--timeout',
          '1',
          '--function-log',
          'first line',
          '--function-log',
          'second line',
        ],
        { SINK: 'http', HTTP_URL: sink.url, BUFFER_TIMEOUT_MS: 25 },
      );
      assertWellBehaved(report, invokes, 1000);
      assert.deepEqual(sink.malformed, []);
      const records = sink.records();

      const requestIds = report.invokes.map((invoke) => invoke.requestId);
      const reports = records.filter((record) => record.type === 'platform.report');
      const reportIds = reports.map((record) => (record.record as { requestId: string }).requestId);
      assert.equal(reportIds.length, invokes, 'one platform.report per invoke, no duplicates');
      assert.deepEqual([...reportIds].sort(), [...requestIds].sort());
      const starts = records.filter((record) => record.type === 'platform.start');
      assert.equal(new Set(starts.map((record) => (record.record as { requestId: string }).requestId)).size, invokes);
      assert.equal(starts.length, invokes);

      const functionLines = records.filter((record) => record.type === 'function').map((record) => record.record);
      assert.equal(functionLines.filter((line) => line === 'first line').length, invokes);
      assert.equal(functionLines.filter((line) => line === 'second line').length, invokes);
      assert.equal(functionLines.length, 2 * invokes);
      assert.equal(
        records.filter((record) => record.type === 'extension').length,
        0,
        'the extension ships none of its own output',
      );

      const subscription = report.telemetry.subscriptions.find((entry) => entry.extension === name);
      assert.equal(subscription?.droppedRecords, 0, 'Lambda dropped nothing: the listener kept up');
      assert.equal(subscription?.schemaVersion, '2022-12-13');
      assert.deepEqual(subscription?.types, ['platform', 'function', 'extension']);
      assert.match(subscription?.destination ?? '', /^http:\/\/sandbox\.localdomain:\d+\/telemetry$/);

      const totals = logLine(output, 'telemetry totals');
      assert.equal(totals['dropped'], 0);
      assert.equal(totals['lost'], 0);
      assert.equal(totals['failedSends'], 0);
      assert.equal(totals['shipped'], records.length);
      assert.equal(output.logs.filter((line) => line['level'] === 'WARN').length, 0);
    } finally {
      await sink.close();
    }
  });

  it('stays up, keeps invokes within their deadline and reports drops when the sink is down', async () => {
    const url = await deadSinkUrl();
    const invokes = 20;
    const { report, output } = await dev(
      [
        ...['--invokes', `${invokes}`, '--interval', '50', '--function-duration', '2', '--timeout', '1'],
        ...Array<string[]>(6).fill(['--function-log', 'a line']).flat(),
      ],
      { SINK: 'http', HTTP_URL: url, BUFFER_TIMEOUT_MS: 25, QUEUE_MAX_RECORDS: 100 },
    );
    assertWellBehaved(report, invokes, 1000);
    const warnings = output.logs.filter((line) => line['msg'] === 'telemetry' && line['level'] === 'WARN');
    assert.ok(warnings.length > 0 && warnings.length <= invokes, 'at most one summary line per invoke');
    // Invokes that tried report the failure; those that found sends paused
    // report the drops.
    assert.ok(
      warnings.every(
        (line) =>
          (Number(line['failedSends']) >= 1 && typeof line['lastError'] === 'string') ||
          line['destinationFailing'] === true,
      ),
    );
    assert.ok(
      warnings.some((line) => Number(line['dropped']) > 0),
      'drops are reported per invoke',
    );
    const stateChanges = output.logs.filter((line) => String(line['msg']).startsWith('destination failing'));
    assert.deepEqual(
      stateChanges.map((line) => [line['level'], line['msg']]),
      [['WARN', 'destination failing, pausing sends for 1 s']],
      'the failure is announced once',
    );
    const totals = logLine(output, 'telemetry totals');
    assert.equal(totals['level'], 'WARN');
    assert.equal(totals['shipped'], 0);
    assert.ok(Number(totals['dropped']) > 0);
    assert.ok(Number(totals['lost']) > 0 && Number(totals['lost']) <= 100, 'the queue stayed within its 100 records');
    assert.equal(
      Number(totals['dropped']) + Number(totals['lost']),
      Number(totals['received']),
      'every record received is either dropped or lost, all counted',
    );
    // Once the destination has failed, sends pause: later invokes wait for
    // no connection attempt, let alone the backoff schedule.
    const firstFailure = report.invokes.findIndex((invoke) => invoke.requestId === warnings[0]?.['requestId']);
    assert.ok(firstFailure >= 0 && firstFailure < invokes - 5, `first failure at invoke ${firstFailure}`);
    const later = report.invokes.slice(firstFailure + 1);
    const slowest = Math.max(...later.map((invoke) => invoke.postRuntimeExtensionsDurationMs));
    assert.ok(slowest < 100, `a later invoke waited ${slowest} ms for the extension`);
  });

  it('keeps every invoke within its deadline when the sink is slower than the deadline', async () => {
    const sink = await startTelemetrySink({ hang: true });
    try {
      const invokes = 4;
      const { report, output } = await dev(
        [
          '--invokes',
          `${invokes}`,
          '--interval',
          '50',
          '--function-duration',
          '2',
          '--timeout',
          '1',
          '--function-log',
          'a line',
        ],
        { SINK: 'http', HTTP_URL: sink.url, BUFFER_TIMEOUT_MS: 25, HTTP_TIMEOUT_MS: 5000 },
      );
      assertWellBehaved(report, invokes, 1000);
      const totals = logLine(output, 'telemetry totals');
      assert.equal(totals['shipped'], 0);
      // The first invoke with records to send makes one attempt that the
      // deadline cuts short; sends then pause for a second, so the invokes
      // after it return at once. The last flush at SHUTDOWN fails likewise.
      assert.ok(Number(totals['failedSends']) >= 2, `failedSends ${String(totals['failedSends'])}`);
      const warnings = output.logs.filter((line) => line['msg'] === 'telemetry' && line['level'] === 'WARN');
      const firstFailure = report.invokes.findIndex(
        (invoke) => invoke.requestId === warnings.find((line) => Number(line['failedSends']) >= 1)?.['requestId'],
      );
      assert.ok(firstFailure >= 0 && firstFailure < invokes - 1, `first failure at invoke ${firstFailure}`);
      for (const invoke of report.invokes.slice(firstFailure + 1)) {
        assert.ok(
          invoke.postRuntimeExtensionsDurationMs < 100,
          `invoke ${invoke.requestId} waited ${invoke.postRuntimeExtensionsDurationMs} ms while sends were paused`,
        );
      }
      assert.match(String(totals['lastError']), /deadline|timeout|canceled/i);
    } finally {
      await sink.close();
    }
  });

  it('does not feed its own stdout back into the stdout sink', async () => {
    const invokes = 30;
    // The interval lets each invoke's records arrive before the next one, as
    // they would in Lambda with the default buffering.
    const { report, output } = await dev(
      ['--invokes', `${invokes}`, '--interval', '40', '--function-duration', '2', '--timeout', '1'],
      {
        BUFFER_TIMEOUT_MS: 25,
        LOG_LEVEL: 'debug',
      },
    );
    assertWellBehaved(report, invokes, 1000);
    const perInvoke = output.logs.filter((line) => line['msg'] === 'telemetry').map((line) => Number(line['shipped']));
    assert.equal(perInvoke.length, invokes);
    // Each invoke has three platform events (start, runtimeDone, report);
    // the second invoke also ships the Init phase's events, and delivery
    // timing may move some into a neighbouring flush. A feedback loop would
    // grow without bound.
    assert.ok(
      perInvoke.slice(2).every((count) => count <= 6),
      `shipped per invoke: ${perInvoke.join(' ')}`,
    );
    const firstHalf = perInvoke.slice(2, 16).reduce((sum, count) => sum + count, 0);
    const secondHalf = perInvoke.slice(16).reduce((sum, count) => sum + count, 0);
    assert.ok(secondHalf <= firstHalf + 6, `shipped ${firstHalf} then ${secondHalf}: growing`);
    assert.equal(output.shipped.filter((record) => record.type === 'extension').length, 0);
    assert.equal(output.shipped.filter((record) => record.type === 'platform.report').length, invokes);
    const totals = logLine(output, 'telemetry totals');
    assert.ok(Number(totals['ownLinesSkipped']) >= invokes, 'its own lines did come back, and were skipped');
    assert.equal(totals['dropped'], 0);
  });
});

import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { Emulator } from '../../src/core/emulator/index.js';
import { freePort } from '../helpers/emulator-fixtures.js';
import { rieBinary, runUnderRie } from '../helpers/rie.js';
import {
  fieldsByType,
  recorderLayer,
  startCollector,
  type RecordedBatch,
  type Recording,
} from '../helpers/telemetry-recorder.js';
import { scaled } from '../helpers/time-scale.js';

/**
 * Issue 31.2 and 31.3: one Telemetry subscriber (test/helpers/telemetry-recorder.ts, SHUTDOWN only), under
 * RIE's LMI mode, which delivers for real, and under `ext dev --managed-instances`, with the same buffering and
 * the same invokes, one after the other: the same record types, the same fields per type, the same number of
 * batches within one; the buffering's timeoutMs (floor 25 ms) and maxItems honoured by both; out of range,
 * Lambda's 400 from both.
 *
 * One field differs on purpose: `tracing` (platform.start, platform.report). RIE omits it when the invoke
 * request has no X-Amzn-Trace-Id header (`omitempty`), and runUnderRie sends none; ext dev gives every invoke
 * a trace id, as Lambda does.
 */
const availability = await rieBinary();
const skip = 'skip' in availability ? availability.skip : false;
if (skip !== false) console.log(`# skipping the RIE telemetry conformance: ${skip}`);
const fieldsOnlyExtDevSends = new Set(['tracing']);

type Buffering = { maxItems?: number; maxBytes?: number; timeoutMs?: number };
interface Scenario {
  buffering?: Buffering;
  invokes: number;
  functionLines: number;
  functionDurationMs: number;
}
type Run = Recording & { log: string };

let layer: string;
before(async () => {
  layer = await recorderLayer();
});
after(async () => rm(layer, { recursive: true, force: true }));

async function recorderEnvironment(collectorUrl: string, buffering: Buffering | undefined) {
  return {
    RECORDER_COLLECTOR: collectorUrl,
    RECORDER_PORT: String(await freePort()),
    ...(buffering === undefined ? {} : { RECORDER_BUFFERING: JSON.stringify(buffering) }),
  };
}

async function underRie(scenario: Scenario): Promise<Run> {
  const collector = await startCollector();
  try {
    const run = await runUnderRie((availability as { binary: string }).binary, {
      layerDirectory: layer,
      mode: 'managed-instances',
      invokes: scenario.invokes,
      functionLines: scenario.functionLines,
      functionDurationMs: scenario.functionDurationMs,
      env: await recorderEnvironment(collector.url, scenario.buffering),
    });
    assert.deepEqual(
      run.invokes.map((invoke) => invoke.status),
      Array(scenario.invokes).fill(200),
      run.log,
    );
    return { ...collector.recording, log: run.log };
  } finally {
    await collector.close();
  }
}

async function underExtDev(scenario: Scenario): Promise<Run> {
  const collector = await startCollector();
  const emulator = new Emulator({
    layerDirectory: layer,
    managedInstances: { maxConcurrency: 2 },
    function: {
      durationMs: scenario.functionDurationMs,
      logLines: Array.from({ length: scenario.functionLines }, (_, index) => `conformance function line ${index}`),
      timeoutSeconds: 10,
    },
    env: await recorderEnvironment(collector.url, scenario.buffering),
  });
  try {
    assert.equal((await emulator.start()).status, 'success');
    // One invoke after the other, as runUnderRie sends them to RIE.
    for (let index = 0; index < scenario.invokes; index += 1) await emulator.invoke();
    await emulator.shutdown();
  } finally {
    await emulator.close();
    await collector.close();
  }
  const log = emulator.timeline.map((entry) => entry.text).join('\n');
  assert.deepEqual(emulator.verdicts, [], log);
  return { ...collector.recording, log };
}

const shape = (run: Run) =>
  JSON.stringify(
    {
      subscription: run.subscription,
      batches: run.batches.map((batch) => batch.records.map((record) => record.type).join(' ')),
    },
    null,
    1,
  );
const context = (rie: Run, dev: Run) => `--- RIE\n${shape(rie)}\n--- ext dev\n${shape(dev)}\n--- RIE log\n${rie.log}`;
const records = (run: Run) => run.batches.flatMap((batch) => batch.records);

/**
 * Same record types, fields and counts; with `batches`, the same number of batches within one. Batch
 * boundaries follow when records are produced, which RIE's stand-in runtime and ext dev's simulated one time
 * alike only where the gaps between records are far from timeoutMs: so not at 25 ms on a loaded machine.
 */
function assertSameShape(rie: Run, dev: Run, scenario: Scenario, batches = true): void {
  const why = context(rie, dev);
  assert.equal(rie.subscription?.status, 200, why);
  assert.equal(dev.subscription?.status, 200, why);
  const types = (run: Run) => [...new Set(records(run).map((record) => record.type))].sort();
  assert.deepEqual(types(dev), types(rie), why);
  const fields = (run: Run, drop: Set<string>) =>
    [...fieldsByType(run.batches)].map(([type, names]) => [type, names.filter((name) => !drop.has(name))]);
  assert.deepEqual(fields(dev, fieldsOnlyExtDevSends), fields(rie, new Set()), why);
  // Managed Instances: no platform.runtimeDone, and platform.report's metrics hold durationMs alone.
  for (const run of [rie, dev]) {
    assert.ok(!records(run).some((record) => record.type === 'platform.runtimeDone'), why);
    const reports = records(run).filter((record) => record.type === 'platform.report');
    assert.equal(reports.length, scenario.invokes, why);
    for (const report of reports) {
      assert.deepEqual(Object.keys((report.record as { metrics: object }).metrics), ['durationMs'], why);
    }
    const lines = records(run).filter((record) => record.type === 'function');
    assert.equal(lines.length, scenario.invokes * scenario.functionLines, why);
  }
  assert.ok(
    !batches || Math.abs(rie.batches.length - dev.batches.length) <= 1,
    `${rie.batches.length} batches under RIE, ${dev.batches.length} under ext dev\n${why}`,
  );
}

/** How long each batch but the last waited after its first record was produced. */
const waits = (batches: readonly RecordedBatch[]) =>
  batches.slice(0, -1).map((batch) => batch.arrivedMs - Date.parse(batch.records[0]!.time));

describe('one Telemetry subscriber under RIE (LMI) and ext dev --managed-instances', { skip, concurrency: 1 }, () => {
  it('default buffering (10000 items, 256 KiB, 1000 ms): the same records, fields and batches', async () => {
    const scenario = { invokes: 3, functionLines: 2, functionDurationMs: 0 };
    assertSameShape(await underRie(scenario), await underExtDev(scenario), scenario);
  });

  it('timeoutMs 100, invokes of 600 ms: each report goes apart from its invoke start, as many batches', async () => {
    const scenario = { buffering: { timeoutMs: 100 }, invokes: 3, functionLines: 1, functionDurationMs: 600 };
    const rie = await underRie(scenario);
    const dev = await underExtDev(scenario);
    assertSameShape(rie, dev, scenario);
    for (const run of [rie, dev]) assert.ok(run.batches.length >= scenario.invokes + 1, context(rie, dev));
  });

  it('timeoutMs at its floor, 25 ms: invokes 300 ms apart go in batches of their own, none sent early', async () => {
    const scenario = { buffering: { timeoutMs: 25 }, invokes: 3, functionLines: 1, functionDurationMs: 300 };
    const rie = await underRie(scenario);
    const dev = await underExtDev(scenario);
    assertSameShape(rie, dev, scenario, false);
    for (const run of [rie, dev]) {
      // Each invoke's records cannot share a batch with the next one's report, 300 ms later.
      assert.ok(run.batches.length >= scenario.invokes + 1, context(rie, dev));
      for (const waited of waits(run.batches)) {
        // Record times and arrivals are whole milliseconds of one clock: 1 ms of rounding either way.
        assert.ok(waited >= 23, `a batch went ${waited} ms after its first record\n${context(rie, dev)}`);
        assert.ok(waited < scaled(1_000), `a batch waited ${waited} ms\n${context(rie, dev)}`);
      }
    }
  });

  it('maxItems 1000: a full batch goes at once, never more than 1000 records; the rest at Shutdown', async () => {
    const scenario = {
      buffering: { maxItems: 1000, timeoutMs: 30_000 },
      invokes: 3,
      functionLines: 400,
      // RIE drops a batch that is ready while the one before is still being sent (its Subscriber's
      // sendCurrentBatchAsync), and ext dev does not copy that: the invokes last long enough for the full
      // batch to be received before Shutdown flushes the rest.
      functionDurationMs: 500,
    };
    const rie = await underRie(scenario);
    const dev = await underExtDev(scenario);
    assertSameShape(rie, dev, scenario);
    for (const run of [rie, dev]) {
      assert.equal(run.batches[0]?.records.length, 1000, context(rie, dev));
      assert.ok(
        run.batches.every((batch) => batch.records.length <= 1000),
        context(rie, dev),
      );
    }
  });

  it("buffering out of Lambda's ranges: 400 ValidationError from both; the bounds themselves: 200", async () => {
    const cases: [Buffering, number][] = [
      [{ timeoutMs: 24 }, 400],
      [{ timeoutMs: 30_001 }, 400],
      [{ maxItems: 999 }, 400],
      [{ maxItems: 10_001 }, 400],
      [{ maxBytes: 262_143 }, 400],
      [{ maxBytes: 1_048_577 }, 400],
      [{ maxItems: 1000, maxBytes: 262_144, timeoutMs: 25 }, 200],
      [{ maxItems: 10_000, maxBytes: 1_048_576, timeoutMs: 30_000 }, 200],
    ];
    for (const [buffering, status] of cases) {
      const scenario = { buffering, invokes: 1, functionLines: 0, functionDurationMs: 0 };
      const rie = await underRie(scenario);
      const dev = await underExtDev(scenario);
      const why = `${JSON.stringify(buffering)}\n${context(rie, dev)}`;
      assert.equal(rie.subscription?.status, status, why);
      assert.equal(dev.subscription?.status, status, why);
      if (status === 400) {
        for (const run of [rie, dev]) {
          assert.equal(
            (JSON.parse(run.subscription?.body ?? '{}') as { errorType?: string }).errorType,
            'ValidationError',
            why,
          );
        }
      }
    }
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkBudgets } from '../../src/core/cost/budgets.js';
import { renderCostHtml } from '../../src/core/cost/html.js';
import { analyseSoak, soakEvent, warmupInvokes } from '../../src/core/cost/soak.js';
import { leastSquares, percentile, ratio, summarize } from '../../src/core/cost/stats.js';
import { figureRows, formatCostReport } from '../../src/core/cost/text.js';
import { stampedFromReport, timelineSpans } from '../../src/core/cost/timeline.js';
import { withoutLayerWrapper } from '../../src/core/cost/run.js';
import { chromeTrace } from '../../src/core/cost/trace.js';
import type { CostReport, SoakSample } from '../../src/core/cost/types.js';
import type { TimelineEntry } from '../../src/core/emulator/types.js';
import { configProblems } from '../../src/core/config.js';

/** ext cost's arithmetic and renderings, in process: statistics, the soak's verdicts, budgets, trace and page. */

const summary = (p50: number, p99 = p50, max = p99) => ({ count: 10, min: p50, p50, p99, max, mean: p50 });

function report(overrides: Partial<CostReport> = {}): CostReport {
  return {
    status: 'passed',
    exitCode: 0,
    layer: 'dist/x86_64 <&>',
    language: 'go',
    computeMode: 'on-demand',
    function: 'simulated',
    coldStarts: 5,
    invokes: 50,
    functionDurationMs: 10,
    figures: {
      initAddedMs: { ...summary(12.345, 20), ratioToNull: 2.5, nullAdded: summary(4.938) },
      initMs: { layer: summary(30), null: summary(22), none: summary(18), pairedRatioToNull: 1.3 },
      postRuntimeMs: { ...summary(0.5, 1.25, 2), ratioToNull: 2, null: summary(0.25, 0.5, 0.75), none: summary(0.1) },
      functionMs: {
        layer: summary(10.5),
        null: summary(10.25),
        none: summary(10.2),
        changeMs: 0.3,
        changePercent: 2.94,
        ratioToNull: 1.024,
      },
      memory: {
        extensionPeakMiB: 8,
        nullExtensionPeakMiB: 4,
        ratioToNull: 2,
        extensions: [{ name: 'ext', peakMiB: 8 }],
        environmentPeakMiB: { layer: 8, null: 4, none: 0 },
        environmentRatioToNull: 2,
        memorySizeMB: 128,
        shareOfFunctionPercent: 6.25,
      },
    },
    floor: { initAddedP50Ms: 4.938, postRuntimeP50Ms: 0.25, extensionPeakMiB: 4 },
    verdicts: [],
    timeline: [
      { track: 'Lambda', name: 'Init', startMs: 0, durationMs: 20, kind: 'init-report' },
      { track: 'ext', name: 'registration', startMs: 0, durationMs: 15, kind: 'registration' },
      { track: 'runtime', name: 'function', startMs: 21, durationMs: 10, kind: 'runtime', requestId: 'r1' },
      { track: 'Lambda', name: 'Invoke 1', startMs: 21, durationMs: 11, kind: 'end', requestId: 'r1' },
      { track: 'ext', name: 'EXTENSION Name: ext State: Ready', startMs: 20, kind: 'extension' },
    ],
    date: '2026-12-07T00:00:00.000Z',
    ...overrides,
  };
}

describe('ext cost statistics', () => {
  it('takes percentiles by nearest rank, so each is a measured value', () => {
    const values = [5, 1, 4, 2, 3];
    assert.equal(percentile(values, 50), 3);
    assert.equal(percentile(values, 99), 5);
    assert.equal(percentile(values, 0), 1);
    assert.equal(
      percentile(
        [...Array(200).keys()].map((index) => index + 1),
        99,
      ),
      198,
    );
    assert.ok(Number.isNaN(percentile([], 50)));
    assert.deepEqual(summarize([2, 4, 6, 8]), { count: 4, min: 2, p50: 4, p99: 8, max: 8, mean: 5 });
  });

  it('fits a least-squares line: slope, intercept and how much it explains', () => {
    const exact = leastSquares([1, 2, 3, 4], [3, 5, 7, 9]);
    assert.equal(exact.slope, 2);
    assert.equal(exact.intercept, 1);
    assert.equal(exact.rSquared, 1);
    const flat = leastSquares([1, 2, 3, 4], [5, 5, 5, 5]);
    assert.equal(flat.slope, 0);
    assert.equal(flat.rSquared, 0);
    assert.equal(leastSquares([1], [2]).slope, 0);
    const noisy = leastSquares([1, 2, 3, 4, 5, 6], [1, 3, 2, 4, 3, 5]);
    assert.ok(noisy.slope > 0 && noisy.rSquared > 0 && noisy.rSquared < 1);
  });

  it('gives no ratio to a zero floor', () => {
    assert.equal(ratio(3, 1.5), 2);
    assert.equal(ratio(3, 0), null);
    assert.equal(ratio(Number.NaN, 1), null);
    assert.equal(ratio(-2, 4), null);
  });
});

describe('ext cost --soak verdicts', () => {
  const samples = (rss: (index: number) => number, post: (index: number) => number = () => 0.2): SoakSample[] =>
    Array.from({ length: 400 }, (_, index) => ({
      invoke: index + 1,
      elapsedMs: index * 12,
      rssMiB: rss(index),
      postRuntimeMs: post(index),
      logLines: 1,
    }));
  const load = { logLines: 400, logBytes: 72_000, largestLineBytes: 180, largePayloads: 0 };

  it('warms up on the first fifth, at least 10 invokes', () => {
    assert.equal(warmupInvokes(2000), 400);
    assert.equal(warmupInvokes(30), 10);
  });

  it('catches memory that keeps growing (a leak of 64 KiB per invoke)', () => {
    const result = analyseSoak(
      samples((index) => 20 + (index * 64) / 1024 + (index % 3) * 0.01),
      5000,
      load,
    );
    assert.equal(result.passed, false);
    assert.deepEqual(
      result.verdicts.map((verdict) => verdict.kind),
      ['memory-growth'],
    );
    assert.ok(result.memory.slopePer1000 > 60 && result.memory.slopePer1000 < 64, String(result.memory.slopePer1000));
  });

  it('passes memory that grows once and settles, and noise with no trend', () => {
    const settles = analyseSoak(
      samples((index) => (index < 150 ? 20 + index * 0.02 : 23) + (index % 5) * 0.05),
      5000,
      load,
    );
    assert.equal(settles.memory.failed, false, JSON.stringify(settles.memory));
    const noise = analyseSoak(
      samples((index) => 20 + ((index * 7919) % 13) * 0.1),
      5000,
      load,
    );
    assert.equal(noise.passed, true, JSON.stringify(noise.memory));
  });

  it('catches post-runtime time that drifts up, not one slow invoke', () => {
    const drift = analyseSoak(
      samples(
        () => 20,
        (index) => 0.2 + index * 0.02 + (index % 4) * 0.05,
      ),
      5000,
      load,
    );
    assert.deepEqual(
      drift.verdicts.map((verdict) => verdict.kind),
      ['post-runtime-drift'],
    );
    const spike = analyseSoak(
      samples(
        () => 20,
        (index) => (index === 300 ? 80 : 0.2 + (index % 4) * 0.05),
      ),
      5000,
      load,
    );
    assert.equal(spike.postRuntime.failed, false, JSON.stringify(spike.postRuntime));
  });

  it('gives a real function its own events in turn, every 50th padded to over 1 MiB, its fields kept', () => {
    const events = [{ payload: '{"n":1}' }, { payload: '[2]' }];
    assert.equal(soakEvent(events, 0)?.payload, '{"n":1}');
    assert.equal(soakEvent(events, 1)?.payload, '[2]');
    const large = JSON.parse(soakEvent(events, 49)!.payload) as Record<string, unknown>;
    assert.deepEqual(large['event'], [2]);
    assert.ok(String(large['soakPadding']).length >= 1024 * 1024);
    const padded = JSON.parse(soakEvent([{ payload: '{"n":1}' }], 99)!.payload) as Record<string, unknown>;
    assert.equal(padded['n'], 1);
    assert.equal(soakEvent(undefined, 3), undefined);
  });

  it('keeps at most 1,000 samples for the charts, first and last among them', () => {
    const many = Array.from({ length: 5000 }, (_, index) => ({
      invoke: index + 1,
      elapsedMs: index,
      rssMiB: 1,
      postRuntimeMs: 0.1,
      logLines: 1,
    }));
    const result = analyseSoak(many, 5000, load);
    assert.equal(result.samples.length, 1000);
    assert.equal(result.samples[0]!.invoke, 1);
    assert.equal(result.samples.at(-1)!.invoke, 5000);
  });
});

describe('ext cost budgets', () => {
  it('checks each budget that is set against its figure', () => {
    const { figures } = report();
    const checked = checkBudgets({ initAddedMs: 50, postRuntimeP99Ms: 1, peakRssMiB: 8 }, figures);
    assert.deepEqual(
      checked.results.map((result) => [result.name, result.measured, result.exceeded]),
      [
        ['initAddedMs', 12.35, false],
        ['postRuntimeP99Ms', 1.25, true],
        ['peakRssMiB', 8, false],
      ],
    );
    assert.equal(checked.passed, false);
    assert.equal(checkBudgets({ initAddedMs: 50 }, figures).passed, true);
    assert.deepEqual(checkBudgets({}, figures).results, []);
    const soaked = checkBudgets({ peakRssMiB: 10 }, figures, 12.5);
    assert.deepEqual(
      soaked.results.map((result) => [result.measured, result.exceeded]),
      [[12.5, true]],
      "the soak's higher peak counts",
    );
  });

  it('reads "cost" in lambda-extension.json strictly', () => {
    const valid = { name: 'my-ext', language: 'go', entry: '.', architectures: ['x86_64'], version: '1.0.0' };
    assert.deepEqual(configProblems({ ...valid, cost: { initAddedMs: 50, postRuntimeP99Ms: 5, peakRssMiB: 20 } }), []);
    assert.match(
      configProblems({ ...valid, cost: { initAddedMs: -1 } }).join(),
      /"cost.initAddedMs" must be a number of at least 0/,
    );
    assert.match(configProblems({ ...valid, cost: { p50: 1 } }).join(), /"cost" has no field "p50"/);
    assert.match(configProblems({ ...valid, cost: 5 }).join(), /"cost" must be an object/);
  });
});

describe('ext cost trace and timeline', () => {
  it('writes Chrome Trace Event JSON: metadata, complete events in microseconds, instants', () => {
    const trace = chromeTrace(report().timeline, 'test');
    assert.equal(trace.displayTimeUnit, 'ms');
    const names = trace.traceEvents.filter((event) => event.ph === 'M' && event.name === 'thread_name');
    assert.deepEqual(
      names.map((event) => event.args?.['name']),
      ['Lambda', 'runtime', 'post-runtime', 'ext'],
    );
    const init = trace.traceEvents.find((event) => event.name === 'Init');
    assert.deepEqual(
      { ph: init?.ph, ts: init?.ts, dur: init?.dur, tid: init?.tid },
      { ph: 'X', ts: 0, dur: 20_000, tid: 1 },
    );
    const moment = trace.traceEvents.find((event) => event.cat === 'extension');
    assert.deepEqual({ ph: moment?.ph, s: moment?.s, tid: moment?.tid }, { ph: 'i', s: 't', tid: 4 });
    for (const event of trace.traceEvents) {
      assert.equal(typeof event.ts, 'number');
      assert.equal(event.pid, 1);
      if (event.ph === 'X') assert.ok(Number.isInteger(event.dur) && event.dur! >= 1);
    }
    assert.doesNotThrow(() => JSON.parse(JSON.stringify(trace)));
  });

  it('turns ext dev timeline entries into Init, invokes, post-runtime and Shutdown spans', () => {
    const entry = (elapsedMs: number, kind: TimelineEntry['kind'], requestId?: string): TimelineEntry => ({
      elapsedMs,
      time: '',
      kind,
      text: kind,
      ...(requestId === undefined ? {} : { requestId }),
    });
    const spans = timelineSpans(
      stampedFromReport([
        entry(5, 'init-start'),
        entry(25, 'init-report'),
        entry(26, 'start', 'a'),
        entry(36, 'runtime-done', 'a'),
        entry(39, 'end', 'a'),
        entry(40, 'shutdown'),
        entry(44, 'shutdown'),
      ]),
    );
    assert.deepEqual(
      spans.map((span) => [span.track, span.name, span.startMs, span.durationMs]),
      [
        ['Lambda', 'Init', 0, 20],
        ['runtime', 'function', 21, 10],
        ['Lambda', 'Invoke 1', 21, 13],
        ['post-runtime', 'post-runtime', 31, 3],
        ['Lambda', 'Shutdown', 35, 4],
      ],
    );
  });
});

describe('ext cost report renderings', () => {
  it('prints a table with the layer, the floor and their ratio', () => {
    const text = formatCostReport(report());
    assert.match(text, /init added p50\s+12\.35 ms\s+4\.94 ms\s+×2\.50/);
    assert.match(text, /post-runtime p99\s+1\.25 ms\s+0\.50 ms\s+×2\.50/);
    assert.match(text, /extension peak RSS\s+8\.00 MiB\s+4\.00 MiB\s+×2\.00/);
    assert.match(text, /passed\n$/);
  });

  it('renders a page with no script and no reference outside itself, its figures marked for tests', () => {
    const html = renderCostHtml(report());
    assert.doesNotMatch(html, /<script|src=|href=|@import|url\(/i);
    assert.match(html, /dist\/x86_64 &#60;&#38;&#62;/);
    for (const row of figureRows(report())) assert.ok(html.includes(`data-figure="${row.key}">${row.layer}<`), row.key);
    assert.match(html, /<svg class="timeline"/);
  });
});

describe('the function in the null and empty environments', () => {
  const wrapped = {
    command: '/tmp/layer/my-ext-wrapper',
    args: ['/usr/bin/node', '/pkg/client.js'],
    env: { AWS_LAMBDA_EXEC_WRAPPER: '/opt/my-ext-wrapper', _HANDLER: 'index.handler' },
    cwd: '/tmp/fn',
    description: 'nodejs22.x',
  };
  it("starts the runtime directly when the wrapper is the layer's own", () => {
    const direct = withoutLayerWrapper(wrapped, '/tmp/layer');
    assert.equal(direct.command, '/usr/bin/node');
    assert.deepEqual(direct.args, ['/pkg/client.js']);
    assert.deepEqual(direct.env, { _HANDLER: 'index.handler' });
  });
  it('keeps a wrapper from elsewhere, and a runtime with none', () => {
    assert.equal(withoutLayerWrapper(wrapped, '/tmp/other-layer'), wrapped);
    const plain = { ...wrapped, command: '/usr/bin/node', args: ['/pkg/client.js'], env: { _HANDLER: 'x' } };
    assert.equal(withoutLayerWrapper(plain, '/tmp/layer'), plain);
  });
});

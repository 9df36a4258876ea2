import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { runDev } from '../../src/core/dev/index.js';
import type { DevReport } from '../../src/core/sink/index.js';
import { addNodeExtension, makeLayer } from '../helpers/emulator-fixtures.js';
import { createAndBuild, describeRun, runExt } from '../helpers/run-cli.js';
import { scaled } from '../helpers/time-scale.js';

/**
 * Issue 31.4: `ext dev --sink` points the telemetry template's own HTTP sink
 * at a local receiver and reports how late each function log line arrived,
 * the post-runtime time per invoke, and lines produced vs received. Delays
 * are checked against loose, scaled bounds only: their figures are measured
 * in bench/telemetry-delivery.ts.
 */
const sinkOf = (stdout: string): NonNullable<DevReport['sink']> => {
  const report = JSON.parse(stdout) as DevReport;
  assert.ok(report.sink !== undefined, 'the report has a sink section');
  return report.sink;
};

for (const language of ['go', 'ts'] as const) {
  describe(`ext dev --sink with the ${language === 'go' ? 'Go' : 'TypeScript'} telemetry template`, () => {
    const name = `sink-${language}`;
    let workspace: { path: string; cleanup: () => Promise<void> } | undefined;
    let layer: string;
    before(async () => {
      ({ workspace, layer } = await createAndBuild(name, ['--lang', language, '--template', 'telemetry']));
    });
    after(async () => workspace?.cleanup());

    for (const flush of ['end', 'periodic:200', 'continuous', 'adaptive']) {
      it(`--flush ${flush}: every line arrives, each within the run; post-runtime time reported per invoke`, async () => {
        const prefix = `${name.toUpperCase().replace(/[^A-Z0-9]+/gu, '_')}_`;
        const result = await runExt(
          [
            ...['dev', '--layer', layer, '--sink', '--json', '--invokes', '4', '--function-duration', '20'],
            ...['--function-log', 'first line', '--function-log', 'second line', '--env', `${prefix}FLUSH=${flush}`],
          ],
          { timeoutMs: 120_000 },
        );
        assert.equal(result.code, 0, describeRun(result));
        const sink = sinkOf(result.stdout);
        assert.deepEqual(sink.variables.sort(), [`${prefix}HTTP_URL`, `${prefix}SINK`]);
        assert.equal(sink.linesProduced, 8);
        assert.equal(sink.linesReceived, 8, JSON.stringify(sink));
        assert.equal(sink.unexpectedRecords, 0);
        assert.equal(sink.malformedRequests, 0);
        assert.equal(sink.invokes, 4);
        const delay = sink.deliveryDelayMs;
        assert.ok(delay !== undefined);
        assert.ok(delay.p50 <= delay.p99 && delay.p99 <= delay.max, JSON.stringify(delay));
        // Loose: even periodic ships within its interval plus Lambda's buffering; SHUTDOWN drains the rest.
        assert.ok(delay.max < scaled(5_000), JSON.stringify(delay));
        const postRuntime = sink.postRuntimeMs;
        assert.ok(postRuntime !== undefined && postRuntime.p50 >= 0 && postRuntime.p99 >= postRuntime.p50);
        if (flush === 'end') {
          // end ships before its next `next`: every line has arrived before its invoke ends, so no line
          // waits for the SHUTDOWN flush, and each invoke pays for it in post-runtime time.
          assert.ok(postRuntime.p50 > 0, JSON.stringify(postRuntime));
          assert.ok(sink.batches >= 4, JSON.stringify(sink));
        }
      });
    }

    it('on Managed Instances: every line arrives, no post-runtime time (no extension takes part in invokes)', async () => {
      const result = await runExt(
        ['dev', '--layer', layer, '--sink', '--json', '--managed-instances', '--invokes', '6', '--function-log', 'x'],
        { timeoutMs: 120_000 },
      );
      assert.equal(result.code, 0, describeRun(result));
      const sink = sinkOf(result.stdout);
      assert.equal(sink.linesReceived, 6, JSON.stringify(sink));
      assert.deepEqual(sink.postRuntimeMs, { p50: 0, p99: 0, max: 0 });
    });

    it('the text report has one sink line before the summary', async () => {
      const result = await runExt(['dev', '--layer', layer, '--sink', '--invokes', '2', '--function-log', 'hi'], {
        timeoutMs: 120_000,
      });
      assert.equal(result.code, 0, describeRun(result));
      const lines = result.stdout.trim().split('\n');
      assert.match(
        lines.at(-2) ?? '',
        /^sink: 2 of 2 function log line\(s\) received in \d+ batch\(es\); delivery delay p50 /u,
      );
      assert.match(lines.at(-1) ?? '', /^passed: 2 invoke\(s\)/u);
    });
  });
}

describe('ext dev --sink with an extension that ships nowhere', () => {
  const layers: string[] = [];
  after(async () => Promise.all(layers.map((layer) => rm(layer, { recursive: true, force: true }))));

  it('reports the lines produced, none received, and no delay', async () => {
    const layer = await makeLayer();
    layers.push(layer);
    await addNodeExtension(layer, 'quiet');
    const report = await runDev({
      projectDirectory: layer,
      layer,
      sink: true,
      invokes: 2,
      function: { durationMs: 0, logLines: ['a line'] },
    });
    assert.equal(report.status, 'passed');
    assert.equal(report.sink?.linesProduced, 2);
    assert.equal(report.sink.linesReceived, 0);
    assert.equal(report.sink.batches, 0);
    assert.equal(report.sink.deliveryDelayMs, undefined);
    assert.deepEqual(report.sink.variables.sort(), ['QUIET_HTTP_URL', 'QUIET_SINK']);
  });

  it('without --sink the report has no sink section', async () => {
    const layer = await makeLayer();
    layers.push(layer);
    await addNodeExtension(layer, 'quiet');
    const report = await runDev({ projectDirectory: layer, layer, invokes: 1, function: { durationMs: 0 } });
    assert.equal(report.sink, undefined);
  });
});

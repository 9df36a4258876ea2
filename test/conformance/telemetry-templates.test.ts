import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EmulatorReport } from '../../src/core/emulator/index.js';
import { rieBinary, runUnderRie } from '../helpers/rie.js';
import { createAndBuild, describeRun, runExt } from '../helpers/run-cli.js';
import { startTelemetrySink, type TelemetrySink } from '../helpers/telemetry-sink.js';
import { scaled } from '../helpers/time-scale.js';

/**
 * Issue 31.2: the generated telemetry extensions must not depend on what Managed Instances do not send (no
 * INVOKE event, no platform.runtimeDone, platform.report with durationMs alone). Each flush strategy, in Go and
 * in TypeScript, under RIE's LMI mode (real delivery) and under ext dev --managed-instances: every function
 * line reaches the extension's HTTP destination within the run, the extension says it ships continuously, and
 * nothing fails.
 */
const availability = await rieBinary();
const skip = 'skip' in availability ? availability.skip : false;
if (skip !== false) console.log(`# skipping the RIE template conformance: ${skip}`);

const strategies = ['end', 'periodic:1000', 'continuous', 'adaptive'];
const invokes = 3;
const functionLines = 4;

/** The extension's JSON log lines, from RIE's log or ext dev's timeline. */
function logLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .map((line) => line.slice(Math.max(0, line.indexOf('{"'))))
    .filter((line) => line.startsWith('{"'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

function assertShippedContinuously(log: string, sink: TelemetrySink, strategy: string, where: string): void {
  const why = `${where}, FLUSH=${strategy}\n--- log\n${log}`;
  const lines = logLines(log);
  assert.deepEqual(
    lines.filter((line) => line['level'] === 'ERROR'),
    [],
    why,
  );
  const running = lines.find((line) => line['msg'] === 'flush strategy');
  assert.equal(running?.['flush'], 'continuous', why);
  if (strategy !== 'continuous') {
    assert.ok(
      lines.some((line) => String(line['msg']).startsWith('flushing continuously: managed instances')),
      why,
    );
  }
  const shipped = sink.records().filter((record) => record.type === 'function');
  assert.equal(shipped.length, invokes * functionLines, `${why}\n--- shipped\n${JSON.stringify(shipped)}`);
  assert.deepEqual(sink.malformed, [], why);
}

for (const language of ['go', 'ts'] as const) {
  describe(`the ${language} telemetry template on Managed Instances, every flush strategy`, { skip }, () => {
    const name = `lmi-flush-${language}`;
    const prefix = `${name.toUpperCase().replace(/[^A-Z0-9]+/gu, '_')}_`;
    let workspace: { path: string; cleanup: () => Promise<void> } | undefined;
    let layer: string;
    before(async () => {
      ({ workspace, layer } = await createAndBuild(name, ['--lang', language, '--template', 'telemetry']));
    });
    after(async () => workspace?.cleanup());

    for (const strategy of strategies) {
      it(`FLUSH=${strategy}: under RIE's LMI mode`, { timeout: scaled(120_000) }, async () => {
        const sink = await startTelemetrySink();
        try {
          const run = await runUnderRie((availability as { binary: string }).binary, {
            layerDirectory: layer,
            mode: 'managed-instances',
            invokes,
            functionLines,
            env: { [`${prefix}SINK`]: 'http', [`${prefix}HTTP_URL`]: sink.url, [`${prefix}FLUSH`]: strategy },
          });
          assert.deepEqual(
            run.invokes.map((invoke) => invoke.status),
            Array(invokes).fill(200),
            run.log,
          );
          assert.deepEqual(run.extensionErrors, [], run.log);
          assertShippedContinuously(run.log, sink, strategy, 'RIE');
        } finally {
          await sink.close();
        }
      });

      it(`FLUSH=${strategy}: under ext dev --managed-instances`, { timeout: scaled(120_000) }, async () => {
        const sink = await startTelemetrySink();
        try {
          const result = await runExt(
            [
              ...['dev', '--layer', layer, '--json', '--managed-instances', '--concurrency', '2'],
              ...['--invokes', String(invokes), '--function-duration', '20'],
              ...Array.from({ length: functionLines }, (_, index) => [
                '--function-log',
                `template line ${index}`,
              ]).flat(),
              ...['--env', `${prefix}SINK=http`, '--env', `${prefix}HTTP_URL=${sink.url}`],
              ...['--env', `${prefix}FLUSH=${strategy}`],
            ],
            { timeoutMs: 120_000 },
          );
          assert.equal(result.code, 0, describeRun(result));
          const report = JSON.parse(result.stdout) as EmulatorReport;
          const log = report.timeline.map((entry) => entry.text).join('\n');
          assert.equal(report.status, 'passed', log);
          assertShippedContinuously(log, sink, strategy, 'ext dev');
        } finally {
          await sink.close();
        }
      });
    }
  });
}

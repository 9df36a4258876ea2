/**
 * Issue 31.5: what each flush strategy of the telemetry templates costs, in Go and TypeScript, at 1 invoke/s
 * and at 50 invokes/s: how late a function log line reaches the extension's HTTP destination (delivery delay,
 * p50/p99, measured as `ext dev --sink` measures it: src/core/sink) and the time the extension adds to each
 * invoke after the runtime's response (PostRuntimeExtensionsDuration, p50/p99). The environment is frozen
 * between invokes, as Lambda freezes it: a timer does not run meanwhile. Targets (the issue's):
 * - end: p99 delay at most one invoke's duration plus 50 ms: each line's delay less the duration of the invoke
 *   that printed it, at the 99th percentile, at most 50 ms;
 * - periodic:1000: post-runtime p50 within 1.2x of the null client's at the same rate;
 * - every strategy: no line lost with a healthy sink.
 * The emulator times post-runtime in whole milliseconds (Date.now()), so 0.0 ms means under 1 ms.
 */
import { copyFile, chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Emulator, type EmulatorOptions } from '../src/core/emulator/index.js';
import {
  DeliveryTracker,
  distribution,
  sinkEnvironment,
  startSinkReceiver,
  type Distribution,
} from '../src/core/sink/index.js';
import { buildNullGo } from './floors.js';
import { median } from './measure.js';
import { absoluteRow, log, quick, root } from './rows.js';
import { telemetryProject } from './telemetry.js';

export const flushStrategies = ['end', 'periodic:1000', 'continuous', 'adaptive'] as const;
export const invokeRates = [1, 50] as const;
const linesPerInvoke = 5;
const functionDurationMs = 10;

export interface DeliveryRow {
  strategy: string;
  language: 'go' | 'ts';
  ratePerSecond: number;
  invokes: number;
  delay: Distribution | undefined;
  postRuntime: Distribution | undefined;
  invokeMedianMs: number;
  /** Per line: its delay less its invoke's duration (p50, p99, max). */
  delayPastInvoke: Distribution | undefined;
  linesProduced: number;
  linesReceived: number;
}

/** About 4 s per row: 4 invokes at 1/s, 150 at 50/s (fewer with --quick). */
function invokesAt(ratePerSecond: number): number {
  return ratePerSecond === 1 ? (quick ? 3 : 4) : quick ? 60 : 150;
}

/** One run: Init, invokes started every 1000/rate ms (the environment frozen in the gaps), Shutdown. */
async function measure(
  layerDirectory: string,
  names: string[],
  ratePerSecond: number,
  env: Record<string, string> = {},
): Promise<Omit<DeliveryRow, 'strategy' | 'language'>> {
  const tracker = new DeliveryTracker();
  const receiver = await startSinkReceiver((envelopes, atMs) => tracker.received(envelopes, atMs));
  const options: EmulatorOptions = {
    layerDirectory,
    freezeMs: 0,
    function: {
      durationMs: functionDurationMs,
      logLines: Array.from({ length: linesPerInvoke }, (_, index) => `bench line ${index}`),
    },
    env: { ...sinkEnvironment(names, receiver.url), ...env },
    onTimeline: (entry) => tracker.observe(entry, performance.now()),
  };
  const emulator = new Emulator(options);
  const periodMs = 1000 / ratePerSecond;
  const invokes = invokesAt(ratePerSecond);
  const postRuntime: number[] = [];
  const durations: number[] = [];
  const durationOf = new Map<string, number>();
  try {
    const init = await emulator.start();
    if (init.status !== 'success') throw new Error(`Init failed: ${JSON.stringify(emulator.verdicts)}`);
    for (let index = 0; index < invokes; index += 1) {
      const startedAt = performance.now();
      const result = await emulator.invoke();
      postRuntime.push(result.postRuntimeExtensionsDurationMs);
      durations.push(result.durationMs);
      durationOf.set(result.requestId, result.durationMs);
      const gap = startedAt + periodMs - performance.now();
      if (index < invokes - 1)
        await emulator.frozen(() => new Promise((resolve) => setTimeout(resolve, Math.max(0, gap))));
    }
    await emulator.shutdown();
    if (emulator.verdicts.length > 0) throw new Error(`verdicts: ${JSON.stringify(emulator.verdicts)}`);
  } finally {
    await emulator.close();
    await receiver.close();
  }
  return {
    ratePerSecond,
    invokes,
    delay: tracker.deliveryDelay(),
    postRuntime: distribution(postRuntime),
    invokeMedianMs: median(durations),
    delayPastInvoke: distribution(
      tracker.deliveries().map(({ requestId, delayMs }) => delayMs - (durationOf.get(requestId ?? '') ?? 0)),
    ),
    linesProduced: tracker.linesProduced,
    linesReceived: tracker.linesReceived,
  };
}

/** The null clients as layers: each registers INVOKE and SHUTDOWN and asks for the next event at once. */
async function nullLayers(workspace: string): Promise<Record<'go' | 'ts', { layer: string; name: string }>> {
  const go = path.join(workspace, 'null-go-layer');
  await mkdir(path.join(go, 'extensions'), { recursive: true });
  const nullGo = await buildNullGo(workspace);
  await copyFile(nullGo.command, path.join(go, 'extensions', 'null-go'));
  await chmod(path.join(go, 'extensions', 'null-go'), 0o755);
  const ts = path.join(workspace, 'null-node-layer');
  await mkdir(path.join(ts, 'extensions'), { recursive: true });
  const source = await readFile(path.join(root, 'bench', 'floors', 'null-node.mjs'), 'utf8');
  await writeFile(path.join(ts, 'extensions', 'null-node.mjs'), `#!${process.execPath}\n${source}`, { mode: 0o755 });
  return { go: { layer: go, name: 'null-go' }, ts: { layer: ts, name: 'null-node.mjs' } };
}

const ms = (value: number | undefined) => (value === undefined ? 'n/a' : `${value.toFixed(1)} ms`);

/** The rows, in bench/results/latest.json, and their table as Markdown. */
export async function telemetryDeliveryFigures(workspace: string): Promise<string> {
  const floors = await nullLayers(workspace);
  const table: DeliveryRow[] = [];
  const lines = [
    '| strategy | language | invokes/s | delay p50 | delay p99 | post-runtime p50 | post-runtime p99 | lines received | no line lost | end: p99 ≤ its invoke + 50 ms | periodic: post-runtime ≤ 1.2× null |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const language of ['go', 'ts'] as const) {
    const { name, project } = await telemetryProject(workspace, language);
    const layer = path.join(project, 'dist', 'x86_64');
    for (const ratePerSecond of invokeRates) {
      log(`null ${language} client at ${ratePerSecond} invoke(s)/s`);
      const floor = await measure(floors[language].layer, [floors[language].name], ratePerSecond);
      const floorP50 = floor.postRuntime?.p50 ?? 0;
      lines.push(
        `| null client (no telemetry) | ${language === 'go' ? 'Go' : 'TS'} | ${ratePerSecond} | – | – | ${ms(floor.postRuntime?.p50)} | ${ms(floor.postRuntime?.p99)} | – | | | |`,
      );
      for (const strategy of flushStrategies) {
        log(`${language} telemetry extension, flush ${strategy}, ${ratePerSecond} invoke(s)/s`);
        const prefix = `${name.toUpperCase().replace(/[^A-Z0-9]+/gu, '_')}_`;
        const row = {
          strategy,
          language,
          ...(await measure(layer, [name], ratePerSecond, { [`${prefix}FLUSH`]: strategy })),
        };
        table.push(row);
        const noLoss = row.linesReceived === row.linesProduced;
        const targets: { text: string; met: boolean; column: number }[] = [
          { text: `no line lost (${row.linesReceived}/${row.linesProduced})`, met: noLoss, column: 0 },
        ];
        if (strategy === 'end') {
          const past = row.delayPastInvoke?.p99;
          targets.push({
            text: `delay p99 ≤ its invoke's duration + 50 ms (p99 past it: ${ms(past)})`,
            met: (past ?? Infinity) <= 50,
            column: 1,
          });
        }
        if (strategy === 'periodic:1000') {
          targets.push({
            text: `post-runtime p50 ≤ 1.2× null client's (${floorP50.toFixed(1)} ms)`,
            met: (row.postRuntime?.p50 ?? Infinity) <= 1.2 * floorP50,
            column: 2,
          });
        }
        const met = targets.every((target) => target.met);
        const columns = [0, 1, 2].map((column) => {
          const target = targets.find((candidate) => candidate.column === column);
          return target === undefined ? '–' : target.met ? 'pass' : '**fail**';
        });
        lines.push(
          `| ${strategy} | ${language === 'go' ? 'Go' : 'TS'} | ${ratePerSecond} | ${ms(row.delay?.p50)} | ${ms(row.delay?.p99)} | ${ms(row.postRuntime?.p50)} | ${ms(row.postRuntime?.p99)} | ${row.linesReceived}/${row.linesProduced} | ${columns.join(' | ')} |`,
        );
        absoluteRow(
          `generated ${language === 'go' ? 'Go' : 'TS'} telemetry extension, flush ${strategy}, ${ratePerSecond} invoke(s)/s: delivery delay p99`,
          row.delay?.p99 ?? Number.NaN,
          'ms',
          targets.map((target) => target.text).join('; '),
          met,
          `delay p50 ${ms(row.delay?.p50)}; post-runtime p50 ${ms(row.postRuntime?.p50)}, p99 ${ms(row.postRuntime?.p99)}; null client's post-runtime p50 ${floorP50.toFixed(1)} ms; ${row.invokes} invokes`,
        );
      }
    }
  }
  return lines.join('\n');
}

/** `node build/bench/telemetry-delivery.js [--quick]`: this section alone, its table on stdout. */
if (
  process.argv[1] !== undefined &&
  path.resolve(process.argv[1]) === path.join(root, 'build', 'bench', 'telemetry-delivery.js')
) {
  process.env['CREATE_LAMBDA_EXTENSION_TYPECHECK'] ??= 'off';
  const workspace = await mkdtemp(path.join(os.tmpdir(), 'bench-delivery-'));
  try {
    const started = performance.now();
    const table = await telemetryDeliveryFigures(workspace);
    process.stdout.write(`${table}\n\n${((performance.now() - started) / 1000).toFixed(0)} s\n`);
  } finally {
    await rm(workspace, { recursive: true, force: true });
  }
}

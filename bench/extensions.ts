/** The generated extensions at run time, each against its floor: the null client in the same language. */
import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { runEmulator } from '../src/core/emulator/index.js';
import { invokeEvent, startFakeExtensionsApi } from '../test/helpers/fake-extensions-api.js';
import type { Program } from './floors.js';
import { median, paired } from './measure.js';
import { absoluteRow, log, quick, rows, runs } from './rows.js';

export function peakResidentMiB(pid: number): Promise<number> {
  return readFile(`/proc/${pid}/status`, 'utf8').then(
    (status) => Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024,
  );
}

export interface Probe {
  registerMs: number;
  /** Median over the invokes. */
  overheadMs: number;
  peakMiB: number;
}

/** Runs one extension against the precise fake API: spawn to register, post-invoke overhead and peak RSS. */
export async function probeExtension(program: Program, invokes: number): Promise<Probe> {
  const api = await startFakeExtensionsApi((index) => (index < invokes ? invokeEvent(`request-${index}`) : undefined));
  const spawnedAt = process.hrtime.bigint();
  const child = spawn(program.command, program.args, {
    env: { PATH: process.env['PATH'] ?? '', AWS_LAMBDA_RUNTIME_API: api.address },
    // Its log lines go to a pipe, as in Lambda and the emulator, not to /dev/null.
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.resume();
  child.stderr?.resume();
  const exited = new Promise<never>((_, reject) =>
    child.on('exit', (code, signal) => reject(new Error(`${program.command} exited early (${code ?? signal})`))),
  );
  try {
    await Promise.race([api.drained, exited]);
    const peakMiB = await peakResidentMiB(child.pid!);
    const { registerAt, eventSentAt, nextAt } = api.timings;
    // nextAt[0] is the end of init; nextAt[i + 1] answers the event sent as eventSentAt[i].
    const overheads = eventSentAt.map((sent, index) => Number(nextAt[index + 1]! - sent) / 1e6);
    return {
      registerMs: Number(registerAt[0]! - spawnedAt) / 1e6,
      overheadMs: overheads.length > 0 ? median(overheads) : NaN,
      peakMiB,
    };
  } finally {
    exited.catch(() => {});
    child.kill('SIGKILL');
    await api.close();
  }
}

interface Targets {
  register: number;
  overhead: number;
  peak: number;
}

/**
 * One language's basic extension against its null client: spawn to register
 * (paired runs), then pairs of 1,000-invoke runs, each giving a ratio of the
 * median post-invoke overheads and one of the peak RSS.
 */
async function againstFloor(label: string, extension: Program, floor: Program, floorName: string, targets: Targets) {
  log(`${label} basic extension against ${floorName}: spawn to register`);
  const register = await paired(
    runs(21),
    async () => (await probeExtension(extension, 0)).registerMs,
    async () => (await probeExtension(floor, 0)).registerMs,
    2,
  );
  rows.push({
    figure: `generated ${label} basic extension: spawn to \`register\` received`,
    baseline: floorName,
    ratio: register.ratio,
    medianMs: register.medianMs,
    baselineMedianMs: register.baselineMedianMs,
    target: `≤ ${targets.register}×`,
    met: register.ratio <= targets.register,
  });

  log(`${label} basic extension against ${floorName}: 1,000 invokes, overhead and peak RSS`);
  const invokes = quick ? 300 : 1000;
  await probeExtension(extension, 50);
  await probeExtension(floor, 50);
  const pairs: { subject: Probe; baseline: Probe }[] = [];
  for (let index = 0; index < runs(6); index += 1) {
    pairs.push({ subject: await probeExtension(extension, invokes), baseline: await probeExtension(floor, invokes) });
  }
  for (const [key, what, unit, limit] of [
    ['overheadMs', 'post-invoke overhead (INVOKE sent until the next `next`), median per run', 'ms', targets.overhead],
    ['peakMiB', `peak RSS (VmHWM) after ${invokes.toLocaleString('en')} invokes`, 'MiB', targets.peak],
  ] as const) {
    const ratio = median(pairs.map(({ subject, baseline }) => subject[key] / baseline[key]));
    const subjectMedian = median(pairs.map(({ subject }) => subject[key]));
    const baselineMedian = median(pairs.map(({ baseline }) => baseline[key]));
    rows.push({
      figure: `generated ${label} basic extension: ${what}`,
      baseline: floorName,
      ratio,
      ...(unit === 'ms'
        ? { medianMs: subjectMedian, baselineMedianMs: baselineMedian }
        : { median: subjectMedian, baselineMedian, unit }),
      target: `≤ ${limit}×`,
      met: ratio <= limit,
    });
  }
}

export async function extensionFigures(
  go: { extension: Program; floor: Program },
  ts: { extension: Program; floor: Program },
): Promise<void> {
  await againstFloor('Go', go.extension, go.floor, 'null Go client (bench/floors/null-go)', {
    register: 1.15,
    overhead: 1.3,
    peak: 1.1,
  });
  await againstFloor('TS', ts.extension, ts.floor, 'null Node client (bench/floors/null-node.mjs)', {
    register: 1.2,
    overhead: 1.5,
    peak: 1.2,
  });
}

export async function binarySizeFigures(goLayerRoot: string, name: string): Promise<void> {
  for (const architecture of ['x86_64', 'arm64']) {
    const bytes = (await stat(path.join(goLayerRoot, architecture, 'extensions', name))).size;
    absoluteRow(`generated Go binary size, stripped, ${architecture}`, bytes / 1024 / 1024, 'MiB', 'reported', null);
  }
}

type RunEmulator = typeof runEmulator;

/** Invokes per second of one 1,000-invoke run (300 with --quick) of a zero-duration function. */
async function emulatorRate(run: RunEmulator, goLayer: string, invokes: number): Promise<number> {
  const report = await run({ layerDirectory: goLayer, invokes, function: { durationMs: 0 } });
  if (report.status !== 'passed') throw new Error(`the emulator run failed: ${JSON.stringify(report.verdicts)}`);
  const starts = report.timeline.filter((entry) => entry.kind === 'start');
  const ends = report.timeline.filter((entry) => entry.kind === 'end');
  return invokes / ((ends.at(-1)!.elapsedMs - starts[0]!.elapsedMs) / 1000);
}

/**
 * The emulator's throughput. With `against`, the build folder of another commit (`git worktree add`, then
 * `npm run build` there), the two emulators run alternately in this one process, so a change is held against
 * its predecessor on the same machine at the same moment: the row is their ratio.
 */
export async function emulatorFigure(goLayer: string, against?: string): Promise<void> {
  log('ext dev emulator throughput');
  const invokes = quick ? 300 : 1000;
  const figure = '`ext dev` emulator: invokes per second, basic Go extension, zero-duration function';
  if (against === undefined) {
    const perSecond = await emulatorRate(runEmulator, goLayer, invokes);
    absoluteRow(figure, perSecond, 'invokes/s', '≥ 500/s', perSecond >= 500);
    return;
  }
  const module = (await import(path.resolve(against, 'src', 'core', 'emulator', 'index.js'))) as {
    runEmulator: RunEmulator;
  };
  await emulatorRate(runEmulator, goLayer, invokes);
  await emulatorRate(module.runEmulator, goLayer, invokes);
  const current: number[] = [];
  const previous: number[] = [];
  for (let round = 0; round < runs(10); round += 1) {
    current.push(await emulatorRate(runEmulator, goLayer, invokes));
    previous.push(await emulatorRate(module.runEmulator, goLayer, invokes));
  }
  const ratio = median(current) / median(previous);
  rows.push({
    figure: `${figure}, against the build given to --against`,
    baseline: `the emulator of ${path.basename(path.dirname(path.resolve(against)))}/${path.basename(against)}`,
    ratio,
    median: median(current),
    baselineMedian: median(previous),
    unit: 'invokes/s',
    target: '≥ 1.0× (not slower)',
    // Alternate runs on a shared machine differ by a few per cent; "not slower" allows that much.
    met: ratio >= 0.97,
  });
}

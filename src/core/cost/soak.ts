import type { FunctionBehaviour, InvokeEvent } from '../emulator/index.js';
import { leastSquares, rounded } from './stats.js';
import type { SoakReport, SoakSample, SoakTrend, SoakVerdict } from './types.js';

/**
 * `ext cost --soak N`: N invokes in one environment, the handler printing a
 * load that varies (steady lines, bursts, very long lines), the extensions'
 * memory and post-runtime time sampled after each invoke. It fails when either
 * keeps rising after the warm-up: a least-squares slope over a threshold, with
 * a fit that explains the points, a later half that still rises at that rate,
 * and a real rise from the first quarter to the last, so that one step (a heap
 * growing once and settling) or one slow invoke does not fail it.
 */

/** Memory rising faster than this per 1,000 invokes after the warm-up is a leak: 4 MiB leaks a 128 MB function dry in about 30,000 invokes. */
export const memoryGrowthThresholdMiBPer1000 = 4;
/** Post-runtime time rising faster than this per 1,000 invokes is a drift (at least; or half the early median). */
export const postRuntimeDriftThresholdMsPer1000 = 2;
/**
 * A rise smaller than this from the first quarter to the last is no leak, whatever the slope: over a short soak
 * a healthy node extension's heap is still finding its size (about 1 MiB over its first 300 invokes).
 */
export const minimumMemoryRiseMiB = 2;
const minimumPostRuntimeRiseMs = 1;
/** The fit must explain this share of the variation for a slope to count. */
const minimumRSquared = 0.5;
/** Post-runtime time is noisy: a weaker fit counts, as the quarters must agree too. */
const minimumRSquaredLatency = 0.2;
/** The report keeps at most this many samples for its charts, evenly spread. */
export const maxSoakSamples = 1000;

/** The first fifth of the invokes (at least 10) warm up: lazy initialisation, heaps finding their size. */
export function warmupInvokes(invokes: number): number {
  return Math.min(invokes - 2, Math.max(10, Math.floor(invokes / 5)));
}

const steadyLine = (index: number) => `soak invoke ${index}: ${'x'.repeat(160)}`;
const burstLine = (index: number, line: number) => `soak burst ${index}.${line}: ${'y'.repeat(1000)}`;
/** A long line, as a function dumping a payload would print (the emulator cuts nothing of function logs). */
const largeLineBytes = 64 * 1024;

/** What the handler prints on invoke `index`: a line each time, a burst of 50 every 10th, a 64 KiB line every 50th. */
export function soakBehaviour(base: FunctionBehaviour, index: number): FunctionBehaviour {
  const lines = [...(base.logLines ?? []), steadyLine(index)];
  if (index % 10 === 9) for (let line = 0; line < 50; line += 1) lines.push(burstLine(index, line));
  if (index % 50 === 49) lines.push(`soak large ${index}: ${'z'.repeat(largeLineBytes)}`);
  return { ...base, logLines: lines };
}

/** A large payload, as a function receiving an S3 batch or an API body would: 1 MiB. */
const largePayloadBytes = 1024 * 1024;

/**
 * With a real function, the event of invoke `index`: the function's own events in turn, every 50th padded with a
 * 1 MiB field (an event that is a JSON object keeps its fields; any other becomes {"event": …}).
 */
export function soakEvent(events: readonly InvokeEvent[] | undefined, index: number): InvokeEvent | undefined {
  const event = events === undefined || events.length === 0 ? undefined : events[index % events.length];
  if (index % 50 !== 49) return event;
  let body: Record<string, unknown> = {};
  if (event !== undefined) {
    try {
      const parsed: unknown = JSON.parse(event.payload);
      body =
        typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? { ...parsed } : { event: parsed };
    } catch {
      body = { event: event.payload };
    }
  }
  return { ...event, payload: JSON.stringify({ ...body, soakPadding: 'p'.repeat(largePayloadBytes) }) };
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((total, value) => total + value, 0) / values.length;
}

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function trend(
  samples: readonly SoakSample[],
  value: (sample: SoakSample) => number,
  options: {
    threshold: number;
    relative: number;
    center: (values: readonly number[]) => number;
    minimumFit: number;
    /** The least rise from the first quarter to the last that counts: a short soak sees a runtime settle. */
    minimumRise: number;
  },
): SoakTrend {
  const xs = samples.map((sample) => sample.invoke);
  const ys = samples.map(value);
  const fit = leastSquares(xs, ys);
  const quarter = Math.max(1, Math.floor(samples.length / 4));
  const firstQuarter = options.center(ys.slice(0, quarter));
  const lastQuarter = options.center(ys.slice(-quarter));
  const threshold = Math.max(options.threshold, options.relative * firstQuarter);
  const slopePer1000 = fit.slope * 1000;
  // The rise between quarters must show at least half of what the threshold slope would give over the span.
  const span = (xs[xs.length - 1] ?? 0) - (xs[0] ?? 0);
  const expectedRise = Math.max(options.minimumRise, ((threshold / 1000) * span * 3) / 4 / 2);
  // "Keeps" growing: the later half must rise too, or it was a heap finding its size and settling.
  const laterHalf = Math.floor(samples.length / 2);
  const laterSlopePer1000 = leastSquares(xs.slice(laterHalf), ys.slice(laterHalf)).slope * 1000;
  const failed =
    samples.length >= 8 &&
    slopePer1000 > threshold &&
    laterSlopePer1000 > threshold &&
    fit.rSquared >= options.minimumFit &&
    lastQuarter - firstQuarter > expectedRise;
  return {
    slopePer1000: rounded(slopePer1000, 3),
    rSquared: rounded(fit.rSquared, 3),
    firstQuarter: rounded(firstQuarter, 3),
    lastQuarter: rounded(lastQuarter, 3),
    thresholdPer1000: rounded(threshold, 3),
    failed,
  };
}

/** Evenly spread samples, first and last kept. */
function thinned(samples: readonly SoakSample[]): SoakSample[] {
  if (samples.length <= maxSoakSamples) return [...samples];
  const step = (samples.length - 1) / (maxSoakSamples - 1);
  return Array.from({ length: maxSoakSamples }, (_, index) => samples[Math.round(index * step)]!);
}

/** The soak's figures and verdicts from its samples (one per invoke). */
export function analyseSoak(
  samples: readonly SoakSample[],
  durationMs: number,
  load: SoakReport['load'],
  extensionPeakMiB = 0,
): SoakReport {
  const warmup = warmupInvokes(samples.length);
  const measured = samples.slice(warmup);
  const memory = trend(measured, (sample) => sample.rssMiB, {
    threshold: memoryGrowthThresholdMiBPer1000,
    relative: 0,
    center: mean,
    minimumFit: minimumRSquared,
    minimumRise: minimumMemoryRiseMiB,
  });
  const postRuntime = trend(measured, (sample) => sample.postRuntimeMs, {
    threshold: postRuntimeDriftThresholdMsPer1000,
    relative: 0.5,
    center: median,
    minimumFit: minimumRSquaredLatency,
    minimumRise: minimumPostRuntimeRiseMs,
  });
  const verdicts: SoakVerdict[] = [];
  if (memory.failed) {
    verdicts.push({
      kind: 'memory-growth',
      message: `the extensions' memory keeps growing: ${memory.slopePer1000} MiB per 1,000 invokes after the warm-up (${memory.firstQuarter} MiB → ${memory.lastQuarter} MiB; fit r² ${memory.rSquared}), over the ${memory.thresholdPer1000} MiB threshold`,
    });
  }
  if (postRuntime.failed) {
    verdicts.push({
      kind: 'post-runtime-drift',
      message: `post-runtime time drifts up: ${postRuntime.slopePer1000} ms per 1,000 invokes after the warm-up (median ${postRuntime.firstQuarter} ms → ${postRuntime.lastQuarter} ms), over the ${postRuntime.thresholdPer1000} ms threshold`,
    });
  }
  return {
    invokes: samples.length,
    warmupInvokes: warmup,
    durationMs: rounded(durationMs, 1),
    extensionPeakMiB: rounded(extensionPeakMiB, 2),
    load,
    memory,
    postRuntime,
    verdicts,
    passed: verdicts.length === 0,
    samples: thinned(samples).map((sample) => ({
      ...sample,
      elapsedMs: rounded(sample.elapsedMs, 1),
      rssMiB: rounded(sample.rssMiB, 3),
      postRuntimeMs: rounded(sample.postRuntimeMs, 3),
    })),
  };
}

import type { TimelineEntry } from '../emulator/index.js';
import type { ExtensionMoments, StampedEntry } from './environment-run.js';
import type { TimelineSpan } from './types.js';

/**
 * The timeline of one environment as spans on rows (tracks): the phases on
 * `Lambda`, the function on `runtime`, post-runtime time on its own row, and
 * one row per extension (registration, its own Init, each invoke it took part
 * in, its SHUTDOWN). Built from the emulator's timeline entries, so `ext dev
 * --trace` draws the same picture from its report.
 */

export const lambdaTrack = 'Lambda';
export const runtimeTrack = 'runtime';
export const postRuntimeTrack = 'post-runtime';

/** Extension output and function log lines shown as moments, at most: a flood would bury the spans. */
const maximumMoments = 200;

const round = (ms: number) => Math.round(ms * 1000) / 1000;

/** Entries of `ext dev`'s report: their own clock, in whole ms. */
export function stampedFromReport(entries: readonly TimelineEntry[]): StampedEntry[] {
  return entries.map((entry) => ({ entry, atMs: entry.elapsedMs }));
}

export function timelineSpans(
  stamped: readonly StampedEntry[],
  moments: readonly ExtensionMoments[] = [],
): TimelineSpan[] {
  const origin = stamped[0]?.atMs ?? 0;
  const at = (ms: number) => round(ms - origin);
  const spans: TimelineSpan[] = [];
  const span = (
    track: string,
    name: string,
    from: number,
    to: number,
    kind: TimelineSpan['kind'],
    requestId?: string,
  ) =>
    spans.push({
      track,
      name,
      startMs: at(from),
      durationMs: round(Math.max(0, to - from)),
      kind,
      ...(requestId === undefined ? {} : { requestId }),
    });
  let initStart: number | undefined;
  let shutdownStart: number | undefined;
  let runtimeStart: number | undefined;
  const invokeStarts = new Map<string, number>();
  const runtimeDone = new Map<string, number>();
  let invokeNumber = 0;
  let momentsShown = 0;
  for (const { entry, atMs } of stamped) {
    const requestId = entry.requestId;
    switch (entry.kind) {
      case 'init-start':
        initStart = atMs;
        break;
      case 'init-report':
        if (initStart !== undefined) span(lambdaTrack, 'Init', initStart, atMs, 'init-report');
        // A real runtime's Init ends with its first next, which Init's end follows at once.
        if (runtimeStart !== undefined) span(runtimeTrack, 'runtime Init', runtimeStart, atMs, 'runtime');
        initStart = undefined;
        runtimeStart = undefined;
        break;
      case 'runtime':
        if (requestId === undefined && runtimeStart === undefined && entry.text.includes(' started '))
          runtimeStart = atMs;
        else spans.push({ track: runtimeTrack, name: entry.text, startMs: at(atMs), kind: entry.kind });
        break;
      case 'start':
        if (requestId !== undefined) invokeStarts.set(requestId, atMs);
        break;
      case 'runtime-done': {
        const started = requestId === undefined ? undefined : invokeStarts.get(requestId);
        if (requestId !== undefined && started !== undefined) {
          runtimeDone.set(requestId, atMs);
          span(runtimeTrack, 'function', started, atMs, 'runtime', requestId);
        }
        break;
      }
      case 'end': {
        const started = requestId === undefined ? undefined : invokeStarts.get(requestId);
        const done = requestId === undefined ? undefined : runtimeDone.get(requestId);
        if (requestId !== undefined && started !== undefined) {
          invokeNumber += 1;
          span(lambdaTrack, `Invoke ${invokeNumber}`, started, atMs, 'end', requestId);
          if (done !== undefined) span(postRuntimeTrack, 'post-runtime', done, atMs, 'post-runtime', requestId);
        }
        break;
      }
      case 'shutdown':
        if (shutdownStart === undefined) shutdownStart = atMs;
        else {
          span(lambdaTrack, 'Shutdown', shutdownStart, atMs, 'shutdown');
          shutdownStart = undefined;
        }
        break;
      case 'shutdown-extension':
      case 'extension':
      case 'verdict':
        spans.push({ track: entry.extension ?? lambdaTrack, name: entry.text, startMs: at(atMs), kind: entry.kind });
        break;
      case 'function-log':
      case 'output':
        if (momentsShown < maximumMoments) {
          momentsShown += 1;
          const track = entry.kind === 'output' ? (entry.extension ?? lambdaTrack) : runtimeTrack;
          spans.push({
            track,
            name: entry.text,
            startMs: at(atMs),
            kind: entry.kind,
            ...(requestId === undefined ? {} : { requestId }),
          });
        }
        break;
      default:
        break;
    }
  }
  const firstInit = stamped.find(({ entry }) => entry.kind === 'init-start')?.atMs;
  for (const moment of moments) {
    if (firstInit !== undefined && moment.registeredAtMs !== undefined) {
      span(moment.name, 'registration', firstInit, moment.registeredAtMs, 'registration');
      if (moment.readyAtMs !== undefined)
        span(moment.name, 'Init', moment.registeredAtMs, moment.readyAtMs, 'extension-init');
    }
    for (const [requestId, doneAt] of Object.entries(moment.doneAtMs)) {
      const started = invokeStarts.get(requestId);
      // doneAt comes from a whole-millisecond clock: it may read up to 1 ms before the invoke's start.
      if (started !== undefined && doneAt >= started - 1)
        span(moment.name, 'INVOKE', started, Math.max(started, doneAt), 'extension-invoke', requestId);
    }
  }
  return spans.sort((a, b) => a.startMs - b.startMs);
}

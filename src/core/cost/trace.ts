import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { TimelineEntry } from '../emulator/index.js';
import { CliError, errorMessage } from '../errors.js';
import { lambdaTrack, postRuntimeTrack, runtimeTrack, stampedFromReport, timelineSpans } from './timeline.js';
import type { TimelineSpan } from './types.js';

/**
 * The timeline as Chrome's Trace Event Format (JSON object form), which
 * Perfetto (ui.perfetto.dev) and chrome://tracing open: one process, one
 * thread per track, complete events ("X") for spans and instant events ("i")
 * for moments, timestamps in microseconds.
 */

export interface TraceEvent {
  name: string;
  cat?: string;
  ph: 'X' | 'i' | 'M';
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  s?: 't';
  args?: Record<string, unknown>;
}

export interface ChromeTrace {
  traceEvents: TraceEvent[];
  displayTimeUnit: 'ms';
  otherData: Record<string, string>;
}

const fixedTracks = [lambdaTrack, runtimeTrack, postRuntimeTrack];
const tracePid = 1;

export function chromeTrace(spans: readonly TimelineSpan[], title = 'Lambda execution environment'): ChromeTrace {
  const tracks = [
    ...fixedTracks,
    ...new Set(spans.map((span) => span.track).filter((track) => !fixedTracks.includes(track))),
  ];
  const tid = (track: string) => tracks.indexOf(track) + 1;
  const metadata: TraceEvent[] = [
    { name: 'process_name', ph: 'M', ts: 0, pid: tracePid, tid: 0, args: { name: title } },
    ...tracks.flatMap((track, index): TraceEvent[] => [
      { name: 'thread_name', ph: 'M', ts: 0, pid: tracePid, tid: index + 1, args: { name: track } },
      { name: 'thread_sort_index', ph: 'M', ts: 0, pid: tracePid, tid: index + 1, args: { sort_index: index } },
    ]),
  ];
  const events = spans.map((span): TraceEvent => {
    const common = {
      name: span.name,
      cat: span.kind,
      ts: Math.round(span.startMs * 1000),
      pid: tracePid,
      tid: tid(span.track),
      ...(span.requestId === undefined ? {} : { args: { requestId: span.requestId } }),
    };
    return span.durationMs === undefined
      ? { ...common, ph: 'i', s: 't' }
      : { ...common, ph: 'X', dur: Math.max(1, Math.round(span.durationMs * 1000)) };
  });
  return {
    traceEvents: [...metadata, ...events],
    displayTimeUnit: 'ms',
    otherData: { generator: 'create-lambda-extension' },
  };
}

/** Writes a file through a temporary sibling and a rename: an interrupted run leaves the previous file whole. */
export async function writeFileAtomically(file: string, text: string, flag: string): Promise<void> {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await fs.writeFile(temporary, text);
    await fs.rename(temporary, file);
  } catch (error) {
    await fs.rm(temporary, { force: true });
    throw new CliError(`${flag}: cannot write ${file}: ${errorMessage(error)}`, {
      code: 'E_COST_OUTPUT_UNWRITABLE',
      hint: `pass ${flag} a path in a folder that exists and is writable`,
    });
  }
}

/** `ext dev --trace FILE`: the report's timeline as a Chrome trace. */
export async function writeTimelineTrace(file: string, timeline: readonly TimelineEntry[]): Promise<void> {
  const trace = chromeTrace(timelineSpans(stampedFromReport(timeline)), 'ext dev');
  await writeFileAtomically(file, `${JSON.stringify(trace)}\n`, '--trace');
}

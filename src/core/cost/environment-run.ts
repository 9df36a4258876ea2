import { readFileSync } from 'node:fs';
import { Emulator } from '../emulator/index.js';
import type { EmulatorOptions, FunctionBehaviour, InvokeEvent, TimelineEntry, Verdict } from '../emulator/index.js';
import { cgroupPeakMiB, ownDescendants, peakResidentMiB, residentMiB, withDescendants } from './memory.js';
import type { Variant } from './types.js';

/**
 * One execution environment, start to end (Init, invokes, Shutdown) in a
 * fresh Emulator, timed from the emulator's own timeline: each entry is
 * stamped with performance.now() as it is recorded, which is finer than the
 * entries' millisecond clock.
 */

export interface InvokeMeasure {
  requestId: string;
  status: string;
  /** START to the runtime's response. */
  functionMs: number;
  /** The runtime's response to the last extension's next (END). */
  postRuntimeMs: number;
}

/** A timeline entry with the moment it was recorded, in ms since the run started (performance.now()). */
export interface StampedEntry {
  entry: TimelineEntry;
  atMs: number;
}

/** What the traced run adds: when each extension registered and called next, on the same clock. */
export interface ExtensionMoments {
  name: string;
  registeredAtMs?: number | undefined;
  /** Its first event/next: its own Init is over. */
  readyAtMs?: number | undefined;
  /** Per invoke (by request id): its next event/next after INVOKE. */
  doneAtMs: Record<string, number>;
}

export interface EnvironmentRun {
  variant: Variant;
  initMs: number;
  initStatus: string;
  invokes: InvokeMeasure[];
  extensionPeakMiB: number;
  extensionPeaks: { name: string; peakMiB: number }[];
  environmentPeakMiB: number;
  cgroupPeakMiB?: number | undefined;
  verdicts: Verdict[];
  /** With `trace`: every entry, stamped, and the extensions' moments. */
  stamped?: StampedEntry[] | undefined;
  moments?: ExtensionMoments[] | undefined;
}

export interface EnvironmentRequest {
  variant: Variant;
  options: EmulatorOptions;
  invokes: number;
  /** The handler's behaviour for each invoke (the soak varies it); default the options' `function`. */
  behaviourFor?: ((index: number) => FunctionBehaviour) | undefined;
  /** The event of each invoke, with a real runtime (the soak's large payloads); default the options' events in turn. */
  eventFor?: ((index: number) => InvokeEvent | undefined) | undefined;
  /** After each invoke, with the extensions' resident memory now (the soak's samples). */
  onInvoke?: ((measure: InvokeMeasure, index: number, rssMiB: number) => void) | undefined;
  /** Keep the timeline and poll the extensions' registrations: for one run only, as polling costs a little. */
  trace?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

/** Processes of the emulator's own, not of the environment: its watchdog. */
function isEnvironmentProcess(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('ext-dev-watchdog');
  } catch {
    return false;
  }
}

function memoryOf(emulator: Emulator, before: Set<number>) {
  const extensionPeaks = emulator.extensions
    .filter((agent) => agent.pid !== undefined && !agent.exited)
    .map((agent) => ({ name: agent.name, peakMiB: peakResidentMiB(withDescendants([agent.pid!])) }));
  const environment = ownDescendants().filter((pid) => !before.has(pid) && isEnvironmentProcess(pid));
  const cgroup = emulator.report().containment?.cgroup;
  return {
    extensionPeaks,
    extensionPeakMiB: extensionPeaks.reduce((total, extension) => total + extension.peakMiB, 0),
    environmentPeakMiB: peakResidentMiB(environment),
    cgroupPeakMiB: cgroup === undefined ? undefined : cgroupPeakMiB(cgroup),
  };
}

/** Watches the agents while Init runs (a 1 ms poll), to see each registration on the run's clock. */
function watchRegistrations(emulator: Emulator, moments: Map<string, ExtensionMoments>): () => void {
  const timer = setInterval(() => {
    for (const agent of emulator.extensions) {
      const moment = moments.get(agent.name) ?? { name: agent.name, doneAtMs: {} };
      moments.set(agent.name, moment);
      if (moment.registeredAtMs === undefined && agent.state !== 'Started') moment.registeredAtMs = performance.now();
    }
  }, 1);
  return () => clearInterval(timer);
}

/** Init, timed on the run's clock; with `moments`, the registrations watched meanwhile. */
async function timedInit(
  emulator: Emulator,
  moments: Map<string, ExtensionMoments> | undefined,
): Promise<{ initMs: number; initStatus: string }> {
  const stopWatching = moments === undefined ? () => {} : watchRegistrations(emulator, moments);
  const initStart = performance.now();
  try {
    const init = await emulator.start();
    return { initMs: performance.now() - initStart, initStatus: init.status };
  } finally {
    stopWatching();
  }
}

const epochToRunClock = (epochMs: number) => epochMs - performance.timeOrigin;

/** Runs one environment and measures it. */
export async function runEnvironment(request: EnvironmentRequest): Promise<EnvironmentRun> {
  const emulator = new Emulator(request.options);
  const stamps = new Map<string, number>();
  const stamped: StampedEntry[] = [];
  emulator.on('timeline', (entry: TimelineEntry) => {
    const atMs = performance.now();
    if (entry.requestId !== undefined) stamps.set(`${entry.kind}:${entry.requestId}`, atMs);
    if (request.trace === true) stamped.push({ entry, atMs });
  });
  const moments = new Map<string, ExtensionMoments>();
  const before = new Set(ownDescendants());
  const invokes: InvokeMeasure[] = [];
  let memory: ReturnType<typeof memoryOf> | undefined;
  let init: { initMs: number; initStatus: string } | undefined;
  try {
    init = await timedInit(emulator, request.trace === true ? moments : undefined);
    for (const agent of emulator.extensions) {
      const moment = moments.get(agent.name);
      if (moment !== undefined && agent.lastNextAt !== undefined) moment.readyAtMs = epochToRunClock(agent.lastNextAt);
    }
    if (init.initStatus === 'success') {
      const pids = () =>
        emulator.extensions.filter((agent) => agent.pid !== undefined && !agent.exited).map((agent) => agent.pid!);
      for (let index = 0; index < request.invokes; index += 1) {
        if (emulator.verdicts.length > 0 || request.signal?.aborted === true) break;
        const result = await emulator.invoke(request.behaviourFor?.(index) ?? {}, request.eventFor?.(index));
        const start = stamps.get(`start:${result.requestId}`);
        const done = stamps.get(`runtime-done:${result.requestId}`);
        const end = stamps.get(`end:${result.requestId}`);
        const measure: InvokeMeasure = {
          requestId: result.requestId,
          status: result.status,
          functionMs: start !== undefined && done !== undefined ? done - start : result.runtimeDurationMs,
          // On Managed Instances no extension takes part in an invoke: Lambda's figure is 0, not the emulator's bookkeeping.
          postRuntimeMs:
            done !== undefined && end !== undefined && request.options.managedInstances === undefined
              ? end - done
              : result.postRuntimeExtensionsDurationMs,
        };
        invokes.push(measure);
        if (request.trace === true) {
          for (const agent of emulator.extensions) {
            const moment = moments.get(agent.name);
            if (moment !== undefined && agent.lastNextAt !== undefined)
              moment.doneAtMs[result.requestId] = epochToRunClock(agent.lastNextAt);
          }
        }
        if (request.onInvoke !== undefined) request.onInvoke(measure, index, residentMiB(withDescendants(pids())));
      }
      memory = memoryOf(emulator, before);
      await emulator.shutdown('spindown');
    }
  } finally {
    await emulator.close();
  }
  return {
    variant: request.variant,
    initMs: init?.initMs ?? 0,
    initStatus: init?.initStatus ?? 'not run',
    invokes,
    extensionPeakMiB: memory?.extensionPeakMiB ?? 0,
    extensionPeaks: memory?.extensionPeaks ?? [],
    environmentPeakMiB: memory?.environmentPeakMiB ?? 0,
    cgroupPeakMiB: memory?.cgroupPeakMiB,
    verdicts: [...emulator.verdicts],
    ...(request.trace === true ? { stamped, moments: [...moments.values()] } : {}),
  };
}

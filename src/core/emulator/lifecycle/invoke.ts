import { preciseNow } from '../clock.js';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Agent } from '../environment/agents.js';
import type { Environment } from '../environment/index.js';
import { defaults, emulatorAccountId } from '../environment/settings.js';
import * as platform from '../platform-events.js';
import type { ExtensionProcesses } from '../processes/extension-processes.js';
import { peakMemoryMB } from '../processes/launch.js';
import type { FunctionBehaviour, FunctionResponse, InvokeEvent, InvokeResult } from '../types.js';
import { initOnce } from './init.js';
import { initErrorFor, runRuntime } from './runtime.js';
import { shutdown } from './shutdown.js';

/**
 * One invocation (RIE's rapid/handlers.go doInvoke): INVOKE to the
 * extensions that registered for it, the function (simulated, or the real
 * runtime of lifecycle/runtime.ts), then the wait for every invoked
 * extension's next event/next.
 */

function traceHeader(): string {
  const epoch = Math.floor(Date.now() / 1000)
    .toString(16)
    .padStart(8, '0');
  const random = randomBytes(20).toString('hex');
  return `Root=1-${epoch}-${random.slice(0, 24)};Parent=${random.slice(24)};Sampled=1`;
}

/**
 * Reading /proc for every invoke costs more than the rest of an invoke's bookkeeping, so a reading is
 * reused this long within one environment. VmHWM only grows: a reused reading is at most this old.
 */
const memoryReadingMs = 100;

/** The peak memory of the environment's processes (extensions and the real runtime), in MB. */
function maxMemoryUsed(environment: Environment): number {
  const now = Date.now();
  const last = environment.memoryReading;
  if (last !== undefined && last.environment === environment.environmentNumber && now - last.at < memoryReadingMs) {
    return last.mb;
  }
  const runtime = environment.runtime;
  const mb = peakMemoryMB([
    ...environment.agents.filter((agent) => agent.pid !== undefined && !agent.exited).map((agent) => agent.pid!),
    ...(runtime?.pid !== undefined && !runtime.exited ? [runtime.pid] : []),
  ]);
  environment.memoryReading = { at: now, mb, environment: environment.environmentNumber };
  return mb;
}

/** What one invoke is about, fixed at its start. */
interface Invocation {
  requestId: string;
  behaviour: FunctionBehaviour;
  event: InvokeEvent;
  inFlightAtStart: number;
  mark: number;
  start: number;
  timeoutMs: number;
  tracing: platform.Tracing;
  invoked: Agent[];
}

/**
 * An invoke that never ran: its Init failed or was interrupted. When the real runtime failed its Init
 * (no extension did), the invoke gets that error as its response, as on Lambda, and the next invoke
 * runs Init again.
 */
function notRun(
  environment: Environment,
  requestId: string,
  interrupted: boolean,
  runtimeError: FunctionResponse | undefined,
): InvokeResult {
  const now = environment.recorder.elapsedMs();
  const failed: InvokeResult = {
    requestId,
    status: interrupted ? 'interrupted' : runtimeError !== undefined ? 'error' : 'failure',
    durationMs: 0,
    runtimeDurationMs: 0,
    postRuntimeExtensionsDurationMs: 0,
    billedDurationMs: 0,
    maxMemoryUsedMB: 0,
    startMs: now,
    endMs: now,
    inFlightAtStart: 0,
    ...(runtimeError === undefined || interrupted ? {} : { response: runtimeError }),
  };
  environment.invokes.push(failed);
  if (failed.response !== undefined) platform.invokeResponse(environment, requestId, failed.response);
  return failed;
}

/** START, then INVOKE to every extension waiting for it. Nobody can register INVOKE on Managed Instances. */
function startInvoke(environment: Environment, invocation: Omit<Invocation, 'invoked'>): Agent[] {
  const { requestId, start, timeoutMs, tracing } = invocation;
  const { region, functionName } = environment.settings;
  const arn = `arn:aws:lambda:${region}:${emulatorAccountId}:function:${functionName}`;
  platform.invokeStarted(environment, requestId, invocation.inFlightAtStart, tracing);
  const invoked = environment
    .registeredAgents()
    .filter((agent) => agent.events.includes('INVOKE') && !agent.exited && agent.state === 'Ready');
  for (const agent of invoked) {
    environment.deliver(agent, {
      eventType: 'INVOKE',
      deadlineMs: start + timeoutMs,
      requestId,
      invokedFunctionArn: arn,
      tracing,
    });
  }
  return invoked;
}

/**
 * The simulated handler: prints its lines, runs for durationMs, may error or time out. On
 * Managed Instances the lines are spread over the run, so concurrent invokes interleave.
 */
async function runFunction(environment: Environment, invocation: Invocation): Promise<number> {
  const { requestId, behaviour, mark, start, timeoutMs } = invocation;
  const durationMs = behaviour.durationMs ?? defaults.durationMs;
  const logLines = behaviour.logLines ?? [];
  const runEnd = start + Math.min(durationMs, timeoutMs);
  if (environment.settings.managedInstances && logLines.length > 1) {
    for (const [index, line] of logLines.entries()) {
      if (index > 0) {
        const printAt = start + (Math.min(durationMs, timeoutMs) * index) / logLines.length;
        const failed = await environment.waitUntil(() => environment.failedSince(mark), printAt, true);
        if (failed || environment.interrupted()) break;
      }
      platform.functionLog(environment, requestId, line);
    }
  } else {
    for (const line of logLines) platform.functionLog(environment, requestId, line);
  }
  await environment.waitUntil(() => environment.failedSince(mark), runEnd, true);
  return runEnd;
}

/** The invoked extensions' part: every one calls event/next again, or the (scaled) function timeout ends it. */
async function awaitExtensions(
  environment: Environment,
  invocation: Invocation,
  runtime: { timedOut: boolean; cut: boolean },
): Promise<{ end: number; cut: boolean; timedOut: boolean }> {
  const { invoked, mark, start, timeoutMs, requestId } = invocation;
  const factor = environment.settings.limitFactor;
  // The function's deadline, as INVOKE tells it; what extensions do after it is emulated under CPU emulation.
  const extensionsDeadline = start + timeoutMs * factor;
  const allDone = () =>
    invoked.every((agent) => agent.exited || (agent.state === 'Ready' && agent.queuedEvent === undefined));
  // No wait at all when nothing is left to wait for: this is every invoke's path without INVOKE subscribers.
  if (!runtime.timedOut && !runtime.cut && !allDone())
    await environment.waitUntil(() => environment.failedSince(mark) || allDone(), extensionsDeadline, true);
  const end = Date.now();
  const failed = environment.failedSince(mark);
  const cut = runtime.cut || (environment.interrupted() && !failed && !allDone() && end < extensionsDeadline);
  const timedOut = !runtime.timedOut && !cut && !failed && !allDone();
  if (timedOut) {
    for (const agent of invoked.filter((candidate) => candidate.state === 'Running' && !candidate.exited)) {
      environment.addVerdict({
        kind: 'invoke-timeout',
        errorType: 'Sandbox.Timedout',
        extension: agent.name,
        requestId,
        message: `did not call event/next again within the function timeout (${timeoutMs / 1000} s${factor === 1 ? '' : `, ×${factor} under CPU emulation: ${(timeoutMs * factor) / 1000} s`}) after INVOKE; Task timed out`,
      });
    }
  }
  return { end, cut, timedOut };
}

/** The function's part of an invoke, simulated or real: when and how it ended, and what it answered. */
interface FunctionOutcome {
  runtimeDoneAt: number;
  status: InvokeResult['status'];
  timedOut: boolean;
  cut: boolean;
  response?: FunctionResponse | undefined;
  spans: platform.Span[];
}

/** The simulated handler's part: it runs for durationMs, may error or time out. */
async function simulate(environment: Environment, invocation: Invocation): Promise<FunctionOutcome> {
  const { behaviour, mark, start, timeoutMs } = invocation;
  const runEnd = await runFunction(environment, invocation);
  const runtimeDoneAt = preciseNow();
  const cut = environment.interrupted() && runtimeDoneAt < runEnd;
  const timedOut = (behaviour.durationMs ?? defaults.durationMs) >= timeoutMs && !environment.failedSince(mark) && !cut;
  const status = environment.failedSince(mark)
    ? 'failure'
    : cut
      ? 'interrupted'
      : timedOut
        ? 'timeout'
        : behaviour.error
          ? 'error'
          : 'success';
  const spans = [
    { name: 'responseLatency', start: new Date(start).toISOString(), durationMs: runtimeDoneAt - start },
    { name: 'responseDuration', start: new Date(runtimeDoneAt).toISOString(), durationMs: 0 },
  ];
  return { runtimeDoneAt, status, timedOut, cut, spans };
}

/** The real runtime's part (lifecycle/runtime.ts), with the spans of its answer. */
async function runReal(
  environment: Environment,
  processes: ExtensionProcesses,
  invocation: Invocation,
): Promise<FunctionOutcome> {
  const { requestId, event, start, timeoutMs, tracing, mark } = invocation;
  const outcome = await runRuntime(environment, processes, {
    requestId,
    event,
    start,
    timeoutMs,
    traceId: tracing.value,
    mark,
  });
  const answerStart = outcome.answerStartedAt ?? outcome.runtimeDoneAt;
  const answerEnd = outcome.answerReceivedAt ?? answerStart;
  const spans = [
    { name: 'responseLatency', start: new Date(start).toISOString(), durationMs: answerStart - start },
    { name: 'responseDuration', start: new Date(answerStart).toISOString(), durationMs: answerEnd - answerStart },
  ];
  if (outcome.response !== undefined) platform.invokeResponse(environment, requestId, outcome.response);
  return { ...outcome, spans };
}

async function runInvoke(
  environment: Environment,
  processes: ExtensionProcesses,
  invocation: Omit<Invocation, 'invoked'>,
): Promise<InvokeResult> {
  const { requestId, mark, start, tracing } = invocation;
  const full: Invocation = { ...invocation, invoked: startInvoke(environment, invocation) };
  const real = environment.runtime !== undefined;
  const fn = real ? await runReal(environment, processes, full) : await simulate(environment, full);
  const { runtimeDoneAt, spans } = fn;
  const runtimeDurationMs = runtimeDoneAt - start;
  platform.runtimeDone(environment, requestId, fn.status, runtimeDurationMs, tracing, spans, {
    producedBytes: fn.response?.bytes,
    errorType: fn.response?.errorType,
  });
  const extensions = await awaitExtensions(environment, full, { timedOut: fn.timedOut, cut: fn.cut });
  const { end } = extensions;
  const lastNext = Math.max(runtimeDoneAt, ...full.invoked.map((agent) => agent.lastNextAt ?? 0));
  const postRuntimeExtensionsDurationMs =
    extensions.timedOut || fn.timedOut ? end - runtimeDoneAt : Math.max(0, lastNext - runtimeDoneAt);
  const phaseDurationMs = end - start;
  const status: InvokeResult['status'] =
    environment.failedSince(mark) && !extensions.timedOut
      ? 'failure'
      : extensions.cut
        ? 'interrupted'
        : fn.timedOut || extensions.timedOut
          ? 'timeout'
          : fn.status === 'error'
            ? 'error'
            : 'success';
  const maxMemoryUsedMB = maxMemoryUsed(environment);
  const managedInstances = environment.settings.managedInstances;
  const result: InvokeResult = {
    requestId,
    status,
    durationMs: phaseDurationMs,
    runtimeDurationMs,
    postRuntimeExtensionsDurationMs: managedInstances ? 0 : postRuntimeExtensionsDurationMs,
    billedDurationMs: Math.ceil(phaseDurationMs),
    maxMemoryUsedMB,
    ...(environment.initDurationForNextReport === undefined
      ? {}
      : { initDurationMs: environment.initDurationForNextReport }),
    // From the same two readings as durationMs: the START entry may be stamped a millisecond after
    // `start`, and an end counted from it would overlap the next invoke, which starts at `end`.
    startMs: environment.recorder.elapsedMs(start),
    endMs: environment.recorder.elapsedMs(end),
    inFlightAtStart: invocation.inFlightAtStart,
    ...(fn.response === undefined ? {} : { response: fn.response }),
  };
  environment.initDurationForNextReport = undefined;
  environment.invokes.push(result);
  platform.invokeReported(environment, result, postRuntimeExtensionsDurationMs, tracing, spans);
  return result;
}

/**
 * One invocation. Re-runs Init first when the environment was reset (as
 * Lambda's next invoke does). On Managed Instances several may run at once.
 */
export async function invoke(
  environment: Environment,
  processes: ExtensionProcesses,
  behaviour: FunctionBehaviour = {},
  event: InvokeEvent = defaults.event,
): Promise<InvokeResult> {
  const settings = { ...environment.settings.function, ...behaviour };
  const requestId = randomUUID();
  environment.invokeOrder.set(requestId, environment.invokeOrder.size);
  // A runtime that died between invokes: Lambda resets the environment before this one.
  const runtime = environment.runtime;
  if (environment.initialized && environment.inFlight === 0 && runtime?.started === true && runtime.exited) {
    await shutdown(environment, processes, 'failure');
  }
  if (!environment.initialized) {
    const init = await initOnce(environment, processes);
    if (init.status !== 'success') {
      const runtimeError = init.errorType === undefined ? undefined : initErrorFor(environment.runtime, requestId);
      return notRun(environment, requestId, init.status === 'interrupted', runtimeError);
    }
  }
  environment.phase = 'invoke';
  environment.inFlight += 1;
  environment.maxInFlight = Math.max(environment.maxInFlight, environment.inFlight);
  const inFlightAtStart = environment.inFlight;
  let result: InvokeResult;
  try {
    const mark = environment.verdictLog.mark;
    const timeoutMs = (settings.timeoutSeconds ?? defaults.timeoutSeconds) * 1000;
    const tracing = { type: 'X-Amzn-Trace-Id', value: traceHeader() };
    result = await runInvoke(environment, processes, {
      requestId,
      behaviour: settings,
      event,
      inFlightAtStart,
      mark,
      start: Date.now(),
      timeoutMs,
      tracing,
    });
  } finally {
    environment.inFlight -= 1;
    if (environment.inFlight === 0 && environment.phase === 'invoke') environment.phase = 'idle';
  }
  // Lambda resets the environment after a timeout or a failure; the next invoke re-runs Init. On
  // Managed Instances a function timeout ends that invoke only (other invokes share the
  // environment), and a failure resets it once the last invoke in flight has ended.
  if (result.status === 'failure' || (result.status === 'timeout' && !environment.settings.managedInstances)) {
    environment.resetReason ??= result.status === 'timeout' ? 'timeout' : 'failure';
  }
  const reason = environment.resetReason;
  if (environment.inFlight === 0 && reason !== undefined) {
    environment.resetReason = undefined;
    if (environment.initialized) {
      result.environmentReset = reason;
      environment.note(
        `RESET Reason: ${reason}: the environment is shut down and the next invoke runs a fresh Init, as Lambda does after ${reason === 'timeout' ? 'a timeout' : 'a failure or a crash'}`,
      );
      await shutdown(environment, processes, reason);
    }
  }
  return result;
}

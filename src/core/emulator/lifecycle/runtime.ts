import type { Environment } from '../environment/index.js';
import type { FunctionRuntime, RuntimeInvocation } from '../environment/runtime.js';
import { defaults, emulatorAccountId } from '../environment/settings.js';
import * as platform from '../platform-events.js';
import type { ExtensionProcesses } from '../processes/extension-processes.js';
import type { FunctionResponse, InvokeEvent, InvokeResult } from '../types.js';

/**
 * The real function runtime's part of the phases (RIE's rapid/handlers.go doRuntimeDomainInit and
 * doInvoke, rapid/exit.go): started once the extensions have registered, ready at its first `next`,
 * handed each invoke, stopped first at Shutdown. What goes wrong with it is the function's error
 * (an invoke's status and response), never an extension's verdict.
 */

/** Sets up how the run holds its processes, once, before the first one starts. */
export function ensureContainment(environment: Environment, processes: ExtensionProcesses): void {
  if (environment.containment !== undefined) return;
  const { description, ...containment } = processes.prepare();
  environment.containment = containment;
  environment.record('containment', description, { data: { ...containment } });
}

/** Lambda's error body for a failure of its own: `{"errorType":…,"errorMessage":"RequestId: … Error: …"}`. */
export function lambdaError(errorType: string, error: string, requestId?: string): FunctionResponse {
  const errorMessage = requestId === undefined ? `Error: ${error}` : `RequestId: ${requestId} Error: ${error}`;
  return { kind: 'error', payload: JSON.stringify({ errorType, errorMessage }), errorType, errorMessage };
}

/** The runtime failed its Init in a way Lambda words itself. */
function failInit(runtime: FunctionRuntime, errorType: string, text: string): void {
  runtime.initFailure = { errorType, text };
  runtime.initError = lambdaError(errorType, text);
}

/**
 * What an invoke gets when the runtime failed its Init: what the runtime reported through init/error,
 * or Lambda's own error naming the invoke's request id (the Init runs within that invoke on Lambda).
 */
export function initErrorFor(runtime: FunctionRuntime | undefined, requestId: string): FunctionResponse | undefined {
  const failure = runtime?.initFailure;
  return failure === undefined ? runtime?.initError : lambdaError(failure.errorType, failure.text, requestId);
}

const signalNames: Partial<Record<string, string>> = {
  SIGKILL: 'killed',
  SIGTERM: 'terminated',
  SIGSEGV: 'segmentation fault',
  SIGABRT: 'aborted',
  SIGINT: 'interrupt',
  SIGBUS: 'bus error',
  SIGILL: 'illegal instruction',
  SIGFPE: 'floating point exception',
};

/** How Lambda words a runtime's exit (Go's exec.ExitError text, as rapid/handlers.go keeps it). */
function exitText(runtime: FunctionRuntime): string {
  if (runtime.signal) return `Runtime exited with error: signal: ${signalNames[runtime.signal] ?? runtime.signal}`;
  if (runtime.exitCode === 0) return 'Runtime exited without providing a reason';
  return `Runtime exited with error: exit status ${runtime.exitCode ?? 'unknown'}`;
}

function runtimeExited(
  environment: Environment,
  runtime: FunctionRuntime,
  code: number | null,
  signal: NodeJS.Signals | null,
): void {
  runtime.exitedWith(code, signal);
  if (runtime.killedBy !== undefined || environment.runtime !== runtime) return;
  const text = exitText(runtime);
  const requestId = runtime.currentRequestId;
  environment.record(
    'runtime',
    `${requestId === undefined ? '' : `RequestId: ${requestId} `}Error: ${text} Runtime.ExitError`,
    {
      ...(requestId === undefined ? {} : { requestId }),
      data: { exitCode: code, signal },
    },
  );
  if (!runtime.ready && runtime.initError === undefined) failInit(runtime, 'Runtime.ExitError', text);
}

/** Starts the runtime process; false (with the runtime's initError set) when it could not start. */
async function startRuntime(environment: Environment, processes: ExtensionProcesses): Promise<boolean> {
  const runtime = environment.runtime!;
  const { settings } = environment;
  const command = settings.runtime!;
  ensureContainment(environment, processes);
  const variables: Record<string, string> = {
    ...command.env,
    AWS_LAMBDA_RUNTIME_API: environment.runtimeApi,
    AWS_LAMBDA_INITIALIZATION_TYPE: environment.initializationType,
    ...(settings.managedInstances ? { AWS_LAMBDA_MAX_CONCURRENCY: String(settings.maxConcurrency) } : {}),
  };
  const started = await processes.startRuntime(command, variables, {
    output: (stream, line, dropped) => platform.functionOutput(environment, stream, line, dropped),
    exited: (code, signal) => runtimeExited(environment, runtime, code, signal),
  });
  if ('error' in started) {
    failInit(runtime, 'Runtime.InvalidEntrypoint', started.error);
    environment.record('runtime', `RUNTIME ${command.description} could not start: ${started.error}`, {
      data: { error: started.error },
    });
    return false;
  }
  runtime.started = true;
  runtime.pid = started.pid;
  platform.runtimeStarted(environment, command.description, started.pid);
  return true;
}

export type RuntimeInitStatus = 'success' | 'error' | 'timeout' | 'failure';

/**
 * The runtime's Init: start it, then wait for its first `next` (its Init is done), its init/error, its
 * exit, an extension's failure or the Init deadline. Publishes platform.initRuntimeDone.
 */
export async function initRuntime(
  environment: Environment,
  processes: ExtensionProcesses,
  mark: number,
  deadline: number,
): Promise<RuntimeInitStatus> {
  const runtime = environment.runtime!;
  let status: RuntimeInitStatus;
  if (environment.failedSince(mark)) status = 'failure';
  else if (environment.interrupted()) status = 'error';
  // The extensions used up the Init limit (their verdicts follow): the runtime is not started at all.
  else if (Date.now() >= deadline) status = 'timeout';
  else if (!(await startRuntime(environment, processes))) status = 'error';
  else {
    await environment.waitUntil(
      () => runtime.ready || runtime.initError !== undefined || runtime.exited || environment.failedSince(mark),
      deadline,
      true,
    );
    status = runtime.ready
      ? 'success'
      : environment.failedSince(mark)
        ? 'failure'
        : runtime.initError !== undefined || runtime.exited || environment.interrupted()
          ? 'error'
          : 'timeout';
    if (status === 'timeout') {
      const limit = environment.describeLimit(environment.settings.initTimeoutMs);
      failInit(runtime, 'Sandbox.Timedout', `the runtime did not call next within the ${limit} Init limit`);
    }
  }
  platform.initRuntimeDone(environment, status);
  return status;
}

/** Stops the runtime at Shutdown: SIGTERM and a short grace with external extensions (Lambda's 300 ms), else SIGKILL. */
export async function stopRuntime(
  environment: Environment,
  processes: ExtensionProcesses,
  graceful: boolean,
): Promise<void> {
  const runtime = environment.runtime;
  if (runtime === undefined) return;
  if (runtime.killedBy === 'timeout') {
    // SIGKILLed at its timeout already: only its end is awaited.
    await environment.waitUntil(() => runtime.exited, Date.now() + 1000);
  } else if (runtime.started && !runtime.exited && runtime.pid !== undefined) {
    runtime.killedBy = 'shutdown';
    // Its parked next stays open, as on Lambda: the runtime learns of the end from SIGTERM, not from a dropped call.
    const start = Date.now();
    let stopped = false;
    if (graceful) {
      processes.signalRuntime(runtime.pid, 'SIGTERM');
      const graceMs = defaults.runtimeShutdownMs * environment.settings.limitFactor;
      stopped = await environment.waitUntil(() => runtime.exited, Date.now() + graceMs);
    }
    if (!stopped) {
      processes.signalRuntime(runtime.pid, 'SIGKILL');
      await environment.waitUntil(() => runtime.exited, Date.now() + 1000);
    }
    const how = stopped ? `exited on SIGTERM` : graceful ? 'SIGKILLed after its SIGTERM grace' : 'SIGKILLed';
    environment.record('shutdown', `SHUTDOWN Runtime: ${how} (${platform.milliseconds(Date.now() - start)} ms)`, {
      data: { runtime: how },
    });
  }
  runtime.releaseParked();
}

/** The runtime's part of one invoke, as the invoke phase needs it. */
export interface RuntimeOutcome {
  status: InvokeResult['status'];
  runtimeDoneAt: number;
  response: FunctionResponse | undefined;
  timedOut: boolean;
  cut: boolean;
  /** When the answer began and ended arriving, for the spans. */
  answerStartedAt: number | undefined;
  answerReceivedAt: number | undefined;
}

export interface RuntimeInvoke {
  requestId: string;
  event: InvokeEvent;
  start: number;
  timeoutMs: number;
  traceId: string;
  mark: number;
}

/**
 * Hands the invoke to the runtime and waits for its answer and, on demand, its next `next` (RIE's
 * AwaitRuntimeResponse then AwaitRuntimeReady), a crash, the function timeout, an extension's failure or
 * an interrupt.
 */
export async function runRuntime(
  environment: Environment,
  processes: ExtensionProcesses,
  invoke: RuntimeInvoke,
): Promise<RuntimeOutcome> {
  const runtime = environment.runtime!;
  const { region, functionName, tenantId } = environment.settings;
  const { requestId, start, timeoutMs, mark } = invoke;
  const deadline = start + timeoutMs;
  const item: RuntimeInvocation = {
    requestId,
    event: invoke.event,
    deadlineMs: deadline,
    invokedFunctionArn: `arn:aws:lambda:${region}:${emulatorAccountId}:function:${functionName}`,
    traceId: invoke.traceId,
    tenantId,
  };
  runtime.enqueue(item);
  const failed = () => environment.failedSince(mark);
  await environment.waitUntil(() => item.answer !== undefined || runtime.exited || failed(), deadline, true);
  const answered = () => item.answer !== undefined && (runtime.concurrent || runtime.state === 'Ready');
  if (item.answer !== undefined && !runtime.concurrent && !answered()) {
    await environment.waitUntil(() => answered() || runtime.exited || failed(), deadline, true);
  }
  return runtimeOutcome(environment, processes, invoke, item);
}

function runtimeOutcome(
  environment: Environment,
  processes: ExtensionProcesses,
  invoke: RuntimeInvoke,
  item: RuntimeInvocation,
): RuntimeOutcome {
  const runtime = environment.runtime!;
  const runtimeDoneAt = Date.now();
  const answer = item.answer;
  const outcome = {
    runtimeDoneAt,
    response: answer === undefined ? undefined : withoutTimes(answer),
    timedOut: false,
    cut: false,
    answerStartedAt: answer?.startedAt,
    answerReceivedAt: answer?.receivedAt,
  };
  const ready = answer !== undefined && (runtime.concurrent || runtime.state === 'Ready');
  if (environment.failedSince(invoke.mark)) return { ...outcome, status: 'failure' };
  if (ready) return { ...outcome, status: answer.kind === 'error' ? 'error' : 'success' };
  if (runtime.exited) {
    // A crash: the invoke fails with Runtime.ExitError (unless it had answered), and Lambda resets.
    environment.resetReason ??= 'failure';
    const response = outcome.response ?? lambdaError('Runtime.ExitError', exitText(runtime), invoke.requestId);
    return { ...outcome, response, status: 'error' };
  }
  if (environment.interrupted() && runtimeDoneAt < invoke.start + invoke.timeoutMs) {
    return { ...outcome, cut: true, status: 'interrupted' };
  }
  platform.taskTimedOut(environment, invoke.requestId, invoke.timeoutMs);
  if (runtime.concurrent) {
    runtime.forget(invoke.requestId);
  } else if (runtime.pid !== undefined && !runtime.exited) {
    // On demand the environment resets: the runtime is killed now, the extensions get SHUTDOWN (timeout).
    runtime.killedBy = 'timeout';
    processes.signalRuntime(runtime.pid, 'SIGKILL');
  }
  const seconds = (invoke.timeoutMs / 1000).toFixed(2);
  const response =
    outcome.response ?? lambdaError('Sandbox.Timedout', `Task timed out after ${seconds} seconds`, invoke.requestId);
  return { ...outcome, response, timedOut: true, status: 'timeout' };
}

function withoutTimes(answer: NonNullable<RuntimeInvocation['answer']>): FunctionResponse {
  const { startedAt: _startedAt, receivedAt: _receivedAt, ...response } = answer;
  return response;
}

import type { FunctionResponse, InvokeEvent } from '../types.js';

/**
 * The function's runtime as the environment holds it (RIE's core/states.go
 * Runtime, and the invoke context of rapidcore/server.go): its state, the
 * invocations waiting for its `next`, its parked `next` calls and the
 * answer to each request id. The Runtime API's handlers (api/runtime.ts)
 * change it; the lifecycle hands it invocations and waits on it.
 *
 * On demand it follows RIE's state machine: Started → Ready at the first
 * `next` (runtime init done), Running while it holds an invocation,
 * InvocationResponse / InvocationErrorResponse while its answer streams in,
 * RuntimeResponseSentState until its next `next`. On Managed Instances
 * several invocations are out at once, so only the request id is checked.
 */

export type RuntimeStateName =
  | 'Started'
  | 'InitError'
  | 'Ready'
  | 'Running'
  | 'InvocationResponse'
  | 'InvocationErrorResponse'
  | 'RuntimeResponseSentState';

/** An answer as the runtime gave it, with when it started and ended (for the spans). */
export interface RuntimeAnswer extends FunctionResponse {
  startedAt: number;
  receivedAt: number;
}

/** One invoke as the runtime's `next` renders it. */
export interface RuntimeInvocation {
  requestId: string;
  event: InvokeEvent;
  deadlineMs: number;
  invokedFunctionArn: string;
  traceId: string;
  tenantId: string | undefined;
  /** When a `next` call took it. */
  handedAt?: number | undefined;
  answer?: RuntimeAnswer | undefined;
}

/** A parked `next` call, as the API hands it over: answered with an invocation, or ended. */
export interface ParkedRuntimeNext {
  readonly answerable: boolean;
  answer(invocation: RuntimeInvocation): void;
  destroy(): void;
}

/** Why a request-id route is refused, as RIE answers it. */
export interface RuntimeRefusal {
  status: 400 | 403 | 410;
  errorType: string;
  errorMessage: string;
}

const transitionRefusal = (from: RuntimeStateName, to: string): RuntimeRefusal => ({
  status: 403,
  errorType: 'InvalidStateTransition',
  errorMessage: `State transition from ${from} to ${to} failed for runtime. Error: State transition is not allowed`,
});

const invalidRequestId: RuntimeRefusal = {
  status: 400,
  errorType: 'InvalidRequestID',
  errorMessage: 'Invalid request ID',
};

/** RIE's LMI mode, to an answer for an invoke that timed out (rendering.RenderInvokeTimeout). */
const invokeTimedOut: RuntimeRefusal = { status: 410, errorType: 'InvokeTimeout', errorMessage: 'Invoke timeout' };

/** Timed-out request ids kept to answer late answers with 410 (Managed Instances); older ones get 400. */
const rememberedTimeouts = 1000;

export class FunctionRuntime {
  state: RuntimeStateName = 'Started';
  /** When the runtime first called `next`: its Init is done. */
  readyAt: number | undefined;
  /** What it reported through /runtime/init/error, or Lambda's error when it failed Init otherwise. */
  initError: FunctionResponse | undefined;
  /** When the Init failure is Lambda's own (exit, exec error, timeout): its type and text, to name each invoke's request id. */
  initFailure: { errorType: string; text: string } | undefined;
  pid: number | undefined;
  started = false;
  exited = false;
  exitCode: number | null | undefined;
  signal: string | null | undefined;
  /** Set when the emulator stops the process itself: its exit is then no crash. */
  killedBy: 'timeout' | 'shutdown' | 'cleanup' | undefined;
  /** Invocations handed out and not answered yet: at most one on demand. */
  readonly active = new Map<string, RuntimeInvocation>();
  private readonly queue: RuntimeInvocation[] = [];
  private parked: ParkedRuntimeNext[] = [];
  /** On demand: the invoke whose id the request-id routes accept (RIE's current invoke id), until the next one. */
  private current: RuntimeInvocation | undefined;
  /** Managed Instances: invokes that timed out while the runtime still held them. */
  private readonly timedOut = new Set<string>();

  constructor(
    /** Managed Instances: several invocations out at once. */
    readonly concurrent: boolean,
    private readonly changed: () => void,
  ) {}

  get ready(): boolean {
    return this.readyAt !== undefined;
  }

  /** The request a line the runtime prints belongs to, when there is exactly one candidate. */
  get currentRequestId(): string | undefined {
    if (!this.concurrent) return this.current?.requestId;
    if (this.active.size !== 1) return undefined;
    return this.active.keys().next().value;
  }

  /** `GET …/invocation/next`: a refusal, or undefined once the call is answered or parked. */
  next(call: ParkedRuntimeNext): RuntimeRefusal | undefined {
    if (this.state === 'Running' && !this.concurrent && this.current !== undefined) {
      // As RIE (RuntimeRunningState.Ready): a second next while it holds an invoke renders that invoke again.
      call.answer(this.current);
      return undefined;
    }
    if (this.state === 'Started' || this.state === 'RuntimeResponseSentState') {
      this.readyAt ??= Date.now();
      this.state = 'Ready';
    } else if (this.state !== 'Ready' && !(this.concurrent && this.state === 'Running')) {
      return transitionRefusal(this.state, 'Ready');
    }
    this.parked.push(call);
    this.dispatch();
    this.changed();
    return undefined;
  }

  /** A parked call ended by its client: it cannot take an invocation any more. */
  dropped(call: ParkedRuntimeNext): void {
    this.parked = this.parked.filter((candidate) => candidate !== call);
  }

  /** The lifecycle hands an invoke over: to a parked `next` now, or to the next one. */
  enqueue(invocation: RuntimeInvocation): void {
    this.queue.push(invocation);
    this.dispatch();
  }

  /** Takes an invocation back that will not be answered (its timeout on Managed Instances). */
  forget(requestId: string): void {
    if (this.active.delete(requestId)) {
      this.timedOut.add(requestId);
      if (this.timedOut.size > rememberedTimeouts) this.timedOut.delete(this.timedOut.values().next().value!);
    }
    const index = this.queue.findIndex((invocation) => invocation.requestId === requestId);
    if (index !== -1) this.queue.splice(index, 1);
  }

  private dispatch(): void {
    while (this.queue.length > 0 && (this.concurrent || this.state === 'Ready')) {
      const call = this.parked.shift();
      if (call === undefined) return;
      if (!call.answerable) continue;
      const invocation = this.queue.shift()!;
      invocation.handedAt = Date.now();
      this.active.set(invocation.requestId, invocation);
      this.state = 'Running';
      if (!this.concurrent) this.current = invocation;
      call.answer(invocation);
    }
  }

  /**
   * `POST …/{id}/response` or `…/error` begins: RIE checks the id first (400 InvalidRequestID), then the
   * state (403). Undefined when the answer may come; the state then says one is streaming in.
   */
  beginAnswer(requestId: string, kind: FunctionResponse['kind']): RuntimeRefusal | undefined {
    if (this.concurrent) {
      if (this.active.has(requestId)) return undefined;
      return this.timedOut.has(requestId) ? invokeTimedOut : invalidRequestId;
    }
    if (this.current === undefined || requestId !== this.current.requestId) return invalidRequestId;
    const target = kind === 'response' ? 'InvocationResponse' : 'InvocationErrorResponse';
    if (this.state !== 'Running') return transitionRefusal(this.state, target);
    this.state = target;
    return undefined;
  }

  /** The answer has arrived whole (or as Lambda's error for it). */
  answered(requestId: string, answer: RuntimeAnswer): void {
    const invocation = this.active.get(requestId) ?? (this.current?.requestId === requestId ? this.current : undefined);
    this.active.delete(requestId);
    if (invocation !== undefined) invocation.answer ??= answer;
    if (!this.concurrent) this.state = 'RuntimeResponseSentState';
    this.changed();
  }

  /** `POST /runtime/init/error`: allowed while the runtime starts only. */
  reportInitError(error: FunctionResponse): RuntimeRefusal | undefined {
    if (this.state !== 'Started') return transitionRefusal(this.state, 'InitError');
    this.state = 'InitError';
    this.initError = error;
    this.changed();
    return undefined;
  }

  /** The process ended: parked calls go, nothing more is handed out. */
  exitedWith(code: number | null, signal: string | null): void {
    this.exited = true;
    this.exitCode = code;
    this.signal = signal;
    this.releaseParked();
    this.changed();
  }

  releaseParked(): void {
    const parked = this.parked;
    this.parked = [];
    for (const call of parked) if (call.answerable) call.destroy();
  }
}

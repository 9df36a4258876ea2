import { buildContext, forwardTraceId, invokeHeaders, type InvokeHeaders } from './context.js';
import { asError, errorBody, nodeJsExit } from './errors.js';
import type { Handler } from './handler.js';
import type { RuntimeLogger } from './logging.js';
import type { RuntimeApiClient } from './runtime-api.js';
import { isStreamingHandler, runStreamingInvoke } from './streaming.js';

/*
 * The invoke loop: `next`, call the handler, post its answer, `next` again, as Lambda's Node.js runtime does it.
 * - An async handler (or one returning a promise) answers with the promise: the response is posted when it settles.
 * - A callback handler answers with callback(error, result). With context.callbackWaitsForEmptyEventLoop true (the
 *   default), the response waits until the event loop is empty (Node's `beforeExit`); set false, it goes at once.
 * - A handler that neither settles a promise nor calls back: when the loop empties, a non-async handler answers
 *   null, an async one fails with Runtime.NodeJsExit.
 * Under Managed Instances (AWS_LAMBDA_MAX_CONCURRENCY > 1), that many loops run at once; the event loop is never
 * empty then (the other loops wait in `next`), so callbacks answer at once.
 */

export interface RuntimeOptions {
  client: RuntimeApiClient;
  handler: Handler;
  handlerIsAsync: boolean;
  logger: RuntimeLogger;
  concurrency: number;
  /** Called with each invoke's request id as it starts (the log lines' request id). */
  enterInvoke(invoke: InvokeHeaders, run: () => void): void;
}

// The one `beforeExit` action: the callback waiting for an empty event loop, or the default answer.
let beforeExitAction: (() => void) | undefined;
process.on('beforeExit', () => {
  const action = beforeExitAction;
  beforeExitAction = undefined;
  action?.();
});

export class Runtime {
  /** Invokes in flight: an uncaught exception fails them. */
  readonly inFlight = new Set<string>();
  /** The last invoke started: an uncaught exception after it answered is still reported against it, as Lambda does. */
  lastRequestId: string | undefined;

  constructor(private readonly options: RuntimeOptions) {}

  start(): void {
    for (let loop = 0; loop < this.options.concurrency; loop += 1) this.scheduleIteration();
  }

  private scheduleIteration(): void {
    setImmediate(() => {
      this.handleOnce().catch((error: unknown) => {
        console.log(`Unexpected Top Level Error: ${String(error)}`);
        process.emit('uncaughtException', asError(error));
      });
    });
  }

  private async handleOnce(): Promise<void> {
    const { client } = this.options;
    let invocation;
    try {
      invocation = await client.nextInvocation();
    } catch (error) {
      // The Runtime API dropped or refused the waiting `next`: the environment is going away (ext dev stops a
      // runtime that way at Shutdown). Lambda would have stopped the process instead; end quietly, as then.
      if (connectionLost(error)) process.exit(0);
      throw error;
    }
    const invoke = invokeHeaders(invocation.headers);
    this.inFlight.add(invoke.requestId);
    this.lastRequestId = invoke.requestId;
    this.options.enterInvoke(invoke, () => {
      if (isStreamingHandler(this.options.handler)) {
        forwardTraceId(invoke.traceId);
        runStreamingInvoke(client, this.options.handler, invocation.body, invoke, (error) => {
          if (error !== undefined) this.options.logger.logError('Invoke Error', asError(error));
          this.finish(invoke.requestId);
        });
      } else {
        this.invoke(invocation.body, invoke);
      }
    });
  }

  private finish(requestId: string): void {
    this.inFlight.delete(requestId);
    this.scheduleIteration();
  }

  private fatal(error: unknown): void {
    process.emit('uncaughtException', asError(error));
  }

  private invoke(body: string, invoke: InvokeHeaders): void {
    const { client, logger } = this.options;
    const single = this.options.concurrency === 1;
    const next = () => this.finish(invoke.requestId);
    let answered = false;
    let waitsForEmptyEventLoop = true;

    const postError = (error: unknown) => {
      logger.logError('Invoke Error', asError(error));
      client.postError(invoke.requestId, errorBody(error)).then(next, (failure: unknown) => this.fatal(failure));
    };
    const complete = (result: unknown) => {
      if (answered) {
        console.error(
          'Invocation has already been reported as done. Cannot call complete more than once per invocation.',
        );
        return;
      }
      answered = true;
      let payload: string;
      try {
        payload = JSON.stringify(result === undefined ? null : result);
      } catch {
        postError(new Error('Unable to stringify response body'));
        return;
      }
      client.postResponse(invoke.requestId, payload).then(next, (failure: unknown) => this.fatal(failure));
    };
    const callbackImplementation = (error: unknown, result?: unknown) => {
      beforeExitAction = undefined;
      if (error !== undefined && error !== null) postError(error);
      else if (!waitsForEmptyEventLoop || !single) complete(result);
      else beforeExitAction = () => setImmediate(() => complete(result));
    };
    const done = (error: unknown, result?: unknown) => {
      beforeExitAction = undefined;
      if (error !== undefined && error !== null) postError(error);
      else complete(result);
    };

    // Only the first of callback, succeed, fail and done counts.
    let finished = false;
    const once =
      <A extends unknown[]>(action: (...args: A) => void) =>
      (...args: A) => {
        if (finished) return;
        action(...args);
        finished = true;
      };
    const callback = once(callbackImplementation);
    const succeed = once((result?: unknown) => done(null, result));
    const fail = once((error?: unknown) => done(error ?? 'handled'));
    const callbackMethods = {
      get callbackWaitsForEmptyEventLoop() {
        return waitsForEmptyEventLoop;
      },
      set callbackWaitsForEmptyEventLoop(value: boolean) {
        waitsForEmptyEventLoop = value;
      },
      succeed,
      fail,
      done: once(done),
    };

    try {
      forwardTraceId(invoke.traceId);
      const context = buildContext(callbackMethods, invoke);
      const event = JSON.parse(body) as unknown;
      if (single) {
        beforeExitAction = () => {
          // The event loop emptied before any answer: Lambda's runtime answers for the handler.
          answered = true;
          if (this.options.handlerIsAsync) {
            const error = nodeJsExit();
            logger.logError('Invoke Error', error);
            client.postError(invoke.requestId, errorBody(error)).then(next, (failure: unknown) => this.fatal(failure));
          } else {
            client.postResponse(invoke.requestId, 'null').then(next, (failure: unknown) => this.fatal(failure));
          }
        };
      }
      const result = this.options.handler(event, context, callback);
      if (isThenable(result)) {
        result.then(succeed, fail).then(undefined, fail);
      }
    } catch (error) {
      callback(error);
    }
  }
}

function connectionLost(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ECONNRESET' || code === 'ECONNREFUSED' || code === 'EPIPE';
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

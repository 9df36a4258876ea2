/**
 * The extension lifecycle: register, set up, then poll event/next until
 * SHUTDOWN. Your own work goes in src/handlers.ts; this file encodes the
 * rules Lambda enforces:
 * - never exit before SHUTDOWN (even exit code 0 counts as Extension.Crash),
 *   except right after reporting exit/error;
 * - report init/error when setup fails after register;
 * - finish each event's work before its deadline, then call next again.
 */
import { UnknownEventError, type EventType, type ExtensionsApiClient, type InvokeEvent, type RegisterResponse, type ShutdownEvent } from './extensions-api.js';
import { createLogger, stackOf, type Logger } from './log.js';

/** Throw from a handler to choose the error type reported to Lambda (recommended form: `Category.Reason`). */
export class ExtensionError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ExtensionError';
  }
}

export interface SetupContext {
  log: Logger;
  registration: RegisterResponse;
  /** The extension's name (its file name in /opt/extensions) and version. */
  name: string;
  version: string;
  /** The Lambda-Extension-Identifier from register, for the other APIs (Telemetry). */
  identifier: string;
  /** The events registered: those the project chose, or SHUTDOWN only on Lambda Managed Instances (see `eventsFor`). */
  events: readonly EventType[];
  /** True on Lambda Managed Instances: invokes run concurrently and no INVOKE event comes, so do periodic work on a timer. */
  managedInstances: boolean;
  /** Prefix of this extension's environment variables, e.g. MY_EXT_ for my-ext (extensions share the function's environment). */
  settingsPrefix: string;
  env: NodeJS.ProcessEnv;
}

export interface WorkContext {
  log: Logger;
  /** Aborts at the event's deadline minus the safety margin; stop and return when it fires. */
  signal: AbortSignal;
  /** Epoch milliseconds at which `signal` aborts. */
  deadline: number;
}

export interface Handlers {
  setup?(context: SetupContext): Promise<void> | void;
  invoke?(event: InvokeEvent, context: WorkContext): Promise<void> | void;
  shutdown?(event: ShutdownEvent, context: WorkContext): Promise<void> | void;
  /**
   * Runs when `signal` (SIGTERM or SIGINT) stops the extension after setup, or before it exits
   * because event/next failed; bounded by `stopBudgetMs`.
   */
  stop?(context: WorkContext): Promise<void> | void;
}

export interface RunOptions {
  client: Pick<ExtensionsApiClient, 'register' | 'next' | 'initError' | 'exitError' | 'identifier'>;
  /** Must equal the file name in /opt/extensions. */
  name: string;
  version?: string;
  events: readonly EventType[];
  handlers: Handlers;
  /** Abort to stop waiting for events and return 0 (wired to SIGTERM and SIGINT by src/index.ts). */
  signal?: AbortSignal;
  log?: Logger;
  env?: NodeJS.ProcessEnv;
  /** Time kept back before each deadline to wrap up and call next or exit. */
  safetyMarginMs?: number;
  /** How long `handlers.stop` may run: a signal carries no deadline. */
  stopBudgetMs?: number;
  /** Level of the line logged for each INVOKE; a telemetry subscriber uses debug, since its own lines come back to it. */
  eventLogLevel?: 'info' | 'debug';
}

export const defaultSafetyMarginMs = 300;
export const defaultStopBudgetMs = 500;

/** Set, to the number of concurrent invokes, in the execution environments of Lambda Managed Instances. */
export const maxConcurrencyVariable = 'AWS_LAMBDA_MAX_CONCURRENCY';

/**
 * Whether this is a Lambda Managed Instances environment. AWS's emulator
 * gives AWS_LAMBDA_MAX_CONCURRENCY to the runtime only and tells extensions
 * AWS_LAMBDA_INITIALIZATION_TYPE, so either one counts.
 */
export function onManagedInstances(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env[maxConcurrencyVariable]) || env['AWS_LAMBDA_INITIALIZATION_TYPE'] === 'lambda-managed-instances';
}

/**
 * The events to register for: the project's, except on Lambda Managed
 * Instances. There an external extension may register for SHUTDOWN only:
 * INVOKE is refused with 403 Extension.InvalidEventType, and an extension
 * that exits then fails the init (Extension.Crash). Invokes run concurrently
 * and no extension hears of them, so per-invoke work does not run there;
 * SHUTDOWN is registered even when the project did not choose it, so that
 * the extension runs and stops cleanly.
 */
export function eventsFor(events: readonly EventType[], env: NodeJS.ProcessEnv): EventType[] {
  return onManagedInstances(env) ? ['SHUTDOWN'] : [...events];
}

/** Upper snake case of the name, starting with a letter as Lambda requires of variable names. */
export function settingsPrefixFor(name: string): string {
  const prefix = `${name.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_`;
  return /^[A-Z]/.test(prefix) ? prefix : `EXT_${prefix}`;
}

/** Runs the extension until SHUTDOWN, a fatal error or `signal`; resolves to the process exit code. */
export async function run(options: RunOptions): Promise<number> {
  const { client, name, handlers, signal } = options;
  const log = options.log ?? createLogger({ base: { extension: name } });
  const env = options.env ?? process.env;
  const managedInstances = onManagedInstances(env);
  const events = eventsFor(options.events, env);
  if (managedInstances) {
    log.info('managed instances: per-invoke work does not run here; registering SHUTDOWN only', {
      maxConcurrency: env[maxConcurrencyVariable],
    });
  }
  const margin = options.safetyMarginMs ?? defaultSafetyMarginMs;
  // After setup, a signal still gets a short, bounded last run (e.g. a final flush).
  // Handlers are called as methods (`handlers.invoke(…)`), so a class implementing Handlers keeps `this`.
  const runStop = async (): Promise<void> => {
    if (handlers.stop) await bounded('stop', log, Date.now() + (options.stopBudgetMs ?? defaultStopBudgetMs), undefined, (context) => handlers.stop?.(context));
  };
  const stop = async (): Promise<number> => {
    await runStop();
    return stopped(log);
  };

  let registration: RegisterResponse;
  try {
    registration = await client.register(name, events, signal);
  } catch (error) {
    if (signal?.aborted) return stopped(log);
    // Without an identifier nothing can be reported; Lambda records the exit as a failed init.
    log.error('register failed', { error });
    return 1;
  }
  const { functionName, functionVersion, accountId } = registration;
  log.info('registered', { version: options.version ?? 'dev', node: process.version, events, functionName, functionVersion, accountId });

  try {
    const settingsPrefix = settingsPrefixFor(name);
    if (handlers.setup) await handlers.setup({
      log,
      registration,
      name,
      version: options.version ?? 'dev',
      identifier: client.identifier ?? '',
      events,
      managedInstances,
      settingsPrefix,
      env,
    });
  } catch (error) {
    const expected = error instanceof ExtensionError;
    const errorType = expected ? error.errorType : 'Extension.UnknownReason';
    log.error('setup failed', { errorType, error, stack: expected ? undefined : stackOf(error) });
    await report(log, client.initError(errorType, error));
    return 1;
  }

  for (;;) {
    if (signal?.aborted) return stop();
    let event;
    try {
      event = await client.next(signal);
    } catch (error) {
      if (signal?.aborted) return stop();
      if (error instanceof UnknownEventError) {
        // An event this code does not know (the API may grow): not worth a crash.
        log.warn('ignoring unexpected event', { eventType: error.eventType });
        continue;
      }
      log.error('event/next failed', { error });
      // The extension is about to exit: give buffered work a short, bounded last run first.
      await runStop();
      await report(log, client.exitError('Extension.EventLoopFailed', error));
      return 1;
    }
    if (event.deadlineMissing) log.warn('event without a valid deadlineMs', { eventType: event.eventType, assumedRemainingMs: event.deadlineMs - Date.now() });

    if (event.eventType === 'SHUTDOWN') {
      const { shutdownReason, deadlineMs } = event;
      log.info('shutdown', { shutdownReason, deadlineMs, remainingMs: deadlineMs - Date.now() });
      // Not tied to `signal`: the flush is the last chance to save data, and it is bounded anyway.
      if (handlers.shutdown) await bounded('shutdown', log, deadlineMs - margin, undefined, (context) => handlers.shutdown?.(event, context));
      log.info('exiting', { shutdownReason });
      return 0;
    }

    const { requestId, invokedFunctionArn, tracing, deadlineMs } = event;
    log[options.eventLogLevel ?? 'info']('invoke', { requestId, invokedFunctionArn, traceId: tracing?.value, remainingMs: deadlineMs - Date.now() });
    if (handlers.invoke) await bounded('invoke', log, deadlineMs - margin, signal, (context) => handlers.invoke?.(event, context));
  }
}

function stopped(log: Logger): number {
  log.info('stopped before SHUTDOWN: signal received');
  return 0;
}

async function report(log: Logger, reported: Promise<void>): Promise<void> {
  try {
    await reported;
  } catch (error) {
    log.error('could not report the error to Lambda', { error });
  }
}

/**
 * Runs one piece of event work, but stops waiting for it at `deadline` (or
 * when `parent` aborts) so the extension calls next, or exits, in time. The
 * work is told through its signal; it cannot be killed.
 */
async function bounded(
  phase: string,
  log: Logger,
  deadline: number,
  parent: AbortSignal | undefined,
  work: (context: WorkContext) => Promise<void> | void,
): Promise<void> {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  const timer = setTimeout(stop, Math.max(0, deadline - Date.now()));
  parent?.addEventListener('abort', stop, { once: true });
  const aborted = new Promise<'aborted'>((resolve) => {
    controller.signal.addEventListener('abort', () => resolve('aborted'), { once: true });
  });
  try {
    const started = Date.now();
    const outcome = await Promise.race([
      Promise.resolve()
        .then(() => work({ log, signal: controller.signal, deadline }))
        .then(() => 'done' as const),
      aborted,
    ]);
    if (outcome === 'done') log.debug(`${phase} work done`, { durationMs: Date.now() - started });
    else if (parent?.aborted) log.warn(`${phase} work interrupted by a signal`);
    else log.warn(`${phase} work passed its deadline; moving on`, { allowedMs: deadline - started });
  } catch (error) {
    // One failed event must not end the extension: exiting now would be an Extension.Crash.
    log.error(`${phase} work failed`, { error, stack: stackOf(error) });
  } finally {
    clearTimeout(timer);
    parent?.removeEventListener('abort', stop);
  }
}

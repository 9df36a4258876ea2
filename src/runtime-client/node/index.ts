/*
 * The toolkit's runtime client for Lambda's Node.js runtimes (nodejs22.x, nodejs24.x), as `ext dev --function` runs
 * it: `node build/src/runtime-client/node/index.js`. It follows the documented contract of Lambda's Node.js
 * runtime (handler strings, ESM and CommonJS, async and callback handlers, the context object, error types, log
 * format) with no dependencies and nothing to compile. It reads:
 *   _HANDLER (or the first argument), LAMBDA_TASK_ROOT (default: the working directory), AWS_LAMBDA_RUNTIME_API,
 *   AWS_LAMBDA_LOG_FORMAT, AWS_LAMBDA_LOG_LEVEL, AWS_LAMBDA_MAX_CONCURRENCY, AWS_EXECUTION_ENV (nodejs24.x and
 *   later refuse callback handlers).
 * See docs/reference/node-runtime-client.md.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { InvokeHeaders } from './context.js';
import { asError, callbackHandlerDeprecated, errorBody, UnhandledPromiseRejection } from './errors.js';
import { isAsyncFunction, loadHandler } from './handler.js';
import { patchConsole, type RequestScope } from './logging.js';
import { RuntimeApiClient } from './runtime-api.js';
import { Runtime } from './runtime.js';
import { installGlobal, isStreamingHandler } from './streaming.js';

// Exit codes of Lambda's Node.js runtime after it reported a fatal error.
const uncaughtExceptionExitCode = 129;
const unhandledRejectionExitCode = 128;

const environment = process.env;
const concurrency = Math.max(1, Math.trunc(Number(environment['AWS_LAMBDA_MAX_CONCURRENCY'] ?? '1')) || 1);
const runtimeMajor = Number(/nodejs(\d+)/.exec(environment['AWS_EXECUTION_ENV'] ?? '')?.[1] ?? 0);

// One invoke at a time: a variable. Several (Managed Instances): each invoke's async work carries its own.
let current: InvokeHeaders | undefined;
const storage = concurrency > 1 ? new AsyncLocalStorage<InvokeHeaders>() : undefined;
const currentInvoke = () => (storage ? storage.getStore() : current);
const scope: RequestScope = {
  requestId: () => currentInvoke()?.requestId,
  tenantId: () => currentInvoke()?.tenantId,
};

const logger = patchConsole(scope, environment);
const address = environment['AWS_LAMBDA_RUNTIME_API'];
if (!address) {
  process.stderr.write('AWS_LAMBDA_RUNTIME_API is not set: this program is run by Lambda, RIE or `ext dev`\n');
  process.exit(1);
}
const client = new RuntimeApiClient(address);
let runtime: Runtime | undefined;
let exiting = false;

/** Reports a fatal error against the invokes in flight (or the last one, or Init), then exits as Lambda's runtime. */
function reportAndExit(error: Error, exitCode: number): void {
  if (exiting) return;
  exiting = true;
  const body = errorBody(error);
  const requestIds = runtime ? [...runtime.inFlight] : [];
  if (requestIds.length === 0 && runtime?.lastRequestId) requestIds.push(runtime.lastRequestId);
  const posts =
    requestIds.length > 0
      ? requestIds.map((requestId) => client.postError(requestId, body))
      : [client.postInitError(body)];
  void Promise.allSettled(posts).then(() => process.exit(exitCode));
}

process.on('uncaughtException', (error) => {
  logger.logError('Uncaught Exception', asError(error));
  reportAndExit(asError(error), uncaughtExceptionExitCode);
});
process.on('unhandledRejection', (reason) => {
  const error = new UnhandledPromiseRejection(reason);
  logger.logError('Unhandled Promise Rejection', error);
  reportAndExit(error, unhandledRejectionExitCode);
});

async function initialize(): Promise<void> {
  const handlerName = environment['_HANDLER'] || process.argv[2] || '';
  const taskRoot = environment['LAMBDA_TASK_ROOT'] || process.cwd();
  installGlobal(environment);
  let handler;
  try {
    handler = await loadHandler(taskRoot, handlerName);
    if (runtimeMajor >= 24 && handler.length >= 3 && !isAsyncFunction(handler) && !isStreamingHandler(handler)) {
      throw callbackHandlerDeprecated();
    }
  } catch (error) {
    // Init failed: Lambda's runtime logs it, posts /init/error and exits.
    logger.logError(runtimeMajor >= 24 ? 'Init Error' : 'Uncaught Exception', asError(error));
    reportAndExit(asError(error), uncaughtExceptionExitCode);
    return;
  }
  runtime = new Runtime({
    client,
    handler,
    handlerIsAsync: isAsyncFunction(handler),
    logger,
    concurrency,
    enterInvoke: (invoke, run) => {
      if (storage) storage.run(invoke, run);
      else {
        current = invoke;
        run();
      }
    },
  });
  runtime.start();
}

await initialize();

/**
 * The public types of a real function under the emulator (`ext dev --function`): the runtime process it
 * starts, the events it hands that runtime and what the function answers. Part of the library API;
 * types.ts re-exports them.
 */

/**
 * The function's runtime process, as Lambda starts it (its `bootstrap`, or
 * the managed runtime's, through AWS_LAMBDA_EXEC_WRAPPER when set). With it
 * the emulator serves the Runtime API (2018-06-01) beside the Extensions API,
 * starts the runtime during Init once the extensions have registered, and
 * hands each invoke's event to the runtime instead of simulating a handler.
 * Built by `prepareFunction` (core/function) from `ext dev --function`.
 */
export interface RuntimeCommand {
  /** The executable, absolute: the bootstrap, python3, node, or the exec wrapper. */
  command: string;
  args: string[];
  /**
   * The function's whole environment as Lambda builds it (LAMBDA_TASK_ROOT, _HANDLER, AWS_LAMBDA_FUNCTION_*,
   * PATH, …), without AWS_LAMBDA_RUNTIME_API, which the emulator adds once it listens.
   */
  env: Record<string, string>;
  /** The working directory: the task root (Lambda's /var/task). */
  cwd: string;
  /** For the timeline and the report, e.g. `nodejs22.x (node 22.23.5, the toolkit's runtime client)`. */
  description: string;
}

/** One invoke's input: what the runtime's `next` returns, with its optional context headers. */
export interface InvokeEvent {
  /** The event, exactly as the bytes the runtime reads (JSON text). */
  payload: string;
  /** `Lambda-Runtime-Client-Context`: JSON text, as a mobile SDK sends it. */
  clientContext?: string | undefined;
  /** `Lambda-Runtime-Cognito-Identity`: JSON text. */
  cognitoIdentity?: string | undefined;
  /** Where the event came from, for messages and the report, e.g. `events.jsonl:3`. */
  source?: string | undefined;
}

/** What the function answered to one invoke. */
export interface FunctionResponse {
  /** `response`: it POSTed …/response; `error`: …/error, or Lambda's own error (timeout, crash, init error, too large). */
  kind: 'response' | 'error';
  /** The body the caller of Invoke gets, as text. */
  payload: string;
  /**
   * For `error`: the body's errorType when it has one (what the function's language calls it, as the caller
   * reads it), else Lambda-Runtime-Function-Error-Type as Lambda keeps it (`Runtime.*`/`Function.*`, else
   * `Runtime.Unknown`), or Lambda's own (`Sandbox.Timedout`, `Runtime.ExitError`, `Function.ResponseSizeTooLarge`, …).
   */
  errorType?: string | undefined;
  errorMessage?: string | undefined;
  /** Bytes of the payload the runtime sent (before any cut for the report). */
  bytes?: number | undefined;
  /** The runtime streamed it (Lambda-Runtime-Function-Response-Mode: streaming). */
  streamed?: boolean | undefined;
}

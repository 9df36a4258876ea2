import { types } from 'node:util';

/*
 * The errors Lambda's Node.js runtime reports in its own name. Their `name` is the `errorType` a caller of Invoke
 * sees (`Runtime.HandlerNotFound`, …); their message is what Lambda puts in `errorMessage`.
 */

export class RuntimeError extends Error {
  constructor(type: string, message: string) {
    super(message);
    // An own property: a subclass's name would otherwise come from its class.
    Object.defineProperty(this, 'name', { value: `Runtime.${type}`, configurable: true, writable: true });
  }
}

/** `_HANDLER` is not `file.export` (or walks out of the task root with `..`). */
export const malformedHandlerName = (message: string) => new RuntimeError('MalformedHandlerName', message);
/** The module loaded, but the export is missing or not a function. */
export const handlerNotFound = (message: string) => new RuntimeError('HandlerNotFound', message);
/** The module, or something it imports, cannot be found. Lambda's message is the original error as a string. */
export const importModuleError = (cause: unknown) => new RuntimeError('ImportModuleError', String(cause));
/** The module does not parse. */
export const userCodeSyntaxError = (cause: unknown) => new RuntimeError('UserCodeSyntaxError', String(cause));
/** nodejs24.x and later refuse handlers that take a callback. */
export const callbackHandlerDeprecated = () =>
  new RuntimeError(
    'CallbackHandlerDeprecated',
    'ERROR: AWS Lambda has removed support for callback-based function handlers starting with Node.js 24. ' +
      'You need to modify this function to use a supported handler signature to use Node.js 24 or later. ' +
      'For more information see https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html.',
  );
/** The event loop emptied while an async handler's promise was still pending. */
export const nodeJsExit = () =>
  new RuntimeError(
    'NodeJsExit',
    'The Lambda runtime client detected an unexpected Node.js exit code. This is most commonly caused by a Promise ' +
      'that was never settled. For more information, see https://nodejs.org/docs/latest/api/process.html#exit-codes',
  );

export class UnhandledPromiseRejection extends RuntimeError {
  constructor(readonly reason: unknown) {
    super('UnhandledPromiseRejection', String(reason));
  }
}

/** The body of `…/error` and `/init/error`: `{errorType, errorMessage, trace}`, as Lambda's Node runtime sends it. */
export interface ErrorBody {
  errorType: string;
  errorMessage: string;
  trace: string[];
}

function isErrorLike(value: unknown): value is { name: string; message: string; stack: string } {
  if (types.isNativeError(value)) return true;
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return (
    typeof candidate['name'] === 'string' &&
    typeof candidate['message'] === 'string' &&
    typeof candidate['stack'] === 'string'
  );
}

// DEL cannot travel in a header; Lambda's runtime escapes it in the body as well.
const escapeDelete = (text: string) => text.replaceAll('\x7F', '%7F');

/** What Lambda's Node runtime posts for a thrown value: an Error's name, message and stack lines, or its type. */
export function errorBody(error: unknown): ErrorBody {
  try {
    if (isErrorLike(error)) {
      return {
        errorType: escapeDelete(String(error.name)),
        errorMessage: escapeDelete(String(error.message)),
        trace: typeof error.stack === 'string' ? escapeDelete(error.stack).split('\n') : [],
      };
    }
    return { errorType: typeof error, errorMessage: String(error), trace: [] };
  } catch {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
      trace: [],
    };
  }
}

/** A callback's or a rejection's non-Error value, wrapped as Lambda's runtime wraps it for its log line. */
export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

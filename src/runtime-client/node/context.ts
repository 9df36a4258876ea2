import type { IncomingHttpHeaders } from 'node:http';

/*
 * The `context` a handler gets, filled as Lambda's Node.js runtime fills it: the function's settings from the
 * environment, the invoke's from the `next` response's headers.
 */

export interface InvokeHeaders {
  requestId: string;
  deadlineMs: number;
  invokedFunctionArn: string | undefined;
  traceId: string | undefined;
  clientContext: string | undefined;
  cognitoIdentity: string | undefined;
  tenantId: string | undefined;
}

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

export function invokeHeaders(headers: IncomingHttpHeaders): InvokeHeaders {
  const requestId = header(headers, 'lambda-runtime-aws-request-id');
  if (!requestId) throw new Error('invocation id is missing or invalid');
  return {
    requestId,
    deadlineMs: Number(header(headers, 'lambda-runtime-deadline-ms')),
    invokedFunctionArn: header(headers, 'lambda-runtime-invoked-function-arn'),
    traceId: header(headers, 'lambda-runtime-trace-id'),
    clientContext: header(headers, 'lambda-runtime-client-context'),
    cognitoIdentity: header(headers, 'lambda-runtime-cognito-identity'),
    tenantId: header(headers, 'lambda-runtime-aws-tenant-id'),
  };
}

function parseJson(text: string | undefined, name: string): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`Cannot parse ${name} as json: ${String(error)}`, { cause: error });
  }
}

/** Adds the function's and the invoke's data to `base` (the callback methods). Throws on malformed JSON headers. */
export function buildContext<T extends object>(base: T, invoke: InvokeHeaders, environment = process.env) {
  const deadline = invoke.deadlineMs;
  return Object.assign(base, {
    functionVersion: environment['AWS_LAMBDA_FUNCTION_VERSION'],
    functionName: environment['AWS_LAMBDA_FUNCTION_NAME'],
    memoryLimitInMB: environment['AWS_LAMBDA_FUNCTION_MEMORY_SIZE'],
    logGroupName: environment['AWS_LAMBDA_LOG_GROUP_NAME'],
    logStreamName: environment['AWS_LAMBDA_LOG_STREAM_NAME'],
    clientContext: parseJson(invoke.clientContext, 'ClientContext'),
    identity: parseJson(invoke.cognitoIdentity, 'CognitoIdentity'),
    invokedFunctionArn: invoke.invokedFunctionArn,
    awsRequestId: invoke.requestId,
    tenantId: invoke.tenantId,
    getRemainingTimeInMillis: () => deadline - Date.now(),
  });
}

/** X-Ray's header for the SDKs: set per invoke, removed when the invoke has none. */
export function forwardTraceId(traceId: string | undefined): void {
  if (traceId) process.env['_X_AMZN_TRACE_ID'] = traceId;
  else delete process.env['_X_AMZN_TRACE_ID'];
}

import { preciseNow } from '../clock.js';
import type http from 'node:http';
import { maxInvokeResponseBytes } from '../../layer/limits.js';
import type { FunctionRuntime, ParkedRuntimeNext, RuntimeInvocation, RuntimeRefusal } from '../environment/runtime.js';
import type { FunctionResponse } from '../types.js';
import { capped, maxHeaderValueLength, send } from './http.js';

/**
 * The Runtime API (2018-06-01), as RIE serves it (rapi/handler/invocationnext.go, invocationresponse.go,
 * invocationerror.go, initerror.go, middleware.AwsRequestIDValidator): the function's runtime takes each
 * invoke with `next` and answers it with `response` or `error`. A handler changes the runtime's state in
 * the environment; the lifecycle waits on it.
 */

export const runtimeApiPrefix = '/2018-06-01/runtime';
const invocationPattern = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/u;

/** The request id and kind of a `…/invocation/{id}/response|error` path; undefined for any other path. */
export function invocationRoute(url: string): { requestId: string; kind: FunctionResponse['kind'] } | undefined {
  const match = invocationPattern.exec(url);
  if (match === null) return undefined;
  let requestId: string;
  try {
    requestId = decodeURIComponent(match[1]!);
  } catch {
    requestId = match[1]!;
  }
  return { requestId, kind: match[2] === 'response' ? 'response' : 'error' };
}

/** RIE answers success with 202 and this body (rendering.RenderAccepted). */
const accepted = (response: http.ServerResponse): void => send(response, 202, { status: 'OK' });

const refuse = (response: http.ServerResponse, refusal: RuntimeRefusal): void =>
  send(response, refusal.status, { errorMessage: refusal.errorMessage, errorType: refusal.errorType });

/** Node refuses header values with characters outside Latin-1 or with line breaks: escape those. */
function headerValue(text: string): string {
  return text.replace(/[\r\n]/gu, ' ').replace(/[^\t\u0020-\u007e]/gu, (character) => {
    const code = character.charCodeAt(0);
    return code < 0x20 || code === 0x7f ? ' ' : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

function writeInvocation(response: http.ServerResponse, invocation: RuntimeInvocation): void {
  const { event } = invocation;
  const body = Buffer.from(event.payload);
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'Content-Length': String(body.length),
    'Lambda-Runtime-Aws-Request-Id': invocation.requestId,
    'Lambda-Runtime-Deadline-Ms': String(invocation.deadlineMs),
    'Lambda-Runtime-Invoked-Function-Arn': invocation.invokedFunctionArn,
    'Lambda-Runtime-Trace-Id': invocation.traceId,
  };
  if (event.clientContext) headers['Lambda-Runtime-Client-Context'] = headerValue(event.clientContext);
  if (event.cognitoIdentity) headers['Lambda-Runtime-Cognito-Identity'] = headerValue(event.cognitoIdentity);
  if (invocation.tenantId !== undefined) headers['Lambda-Runtime-Aws-Tenant-Id'] = invocation.tenantId;
  response.writeHead(200, headers);
  response.end(body);
}

/** `GET /2018-06-01/runtime/invocation/next`: an invoke now, or the call parks until one comes. */
export function runtimeNext(runtime: FunctionRuntime, response: http.ServerResponse): void {
  const call: ParkedRuntimeNext = {
    get answerable() {
      return !response.writableEnded && !response.destroyed;
    },
    answer: (invocation) => writeInvocation(response, invocation),
    destroy: () => response.destroy(),
  };
  const refusal = runtime.next(call);
  if (refusal !== undefined) {
    refuse(response, refusal);
    return;
  }
  if (!response.writableEnded) response.once('close', () => runtime.dropped(call));
}

interface ReadBody {
  /** The body, or undefined when it was larger than the limit (then only counted). */
  text: string | undefined;
  bytes: number;
  /** The client ended the request before its body did. */
  aborted: boolean;
  trailers: NodeJS.Dict<string>;
}

/** Reads a runtime's answer, keeping at most Lambda's limit of it; the rest is drained and counted. */
function readAnswer(request: http.IncomingMessage): Promise<ReadBody> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let settled = false;
    const finish = (aborted: boolean) => {
      if (settled) return;
      settled = true;
      const text = bytes > maxInvokeResponseBytes ? undefined : Buffer.concat(chunks).toString('utf8');
      resolve({ text, bytes, aborted, trailers: request.trailers ?? {} });
    };
    request.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes <= maxInvokeResponseBytes) chunks.push(chunk);
      else chunks.length = 0;
    });
    request.on('end', () => finish(false));
    request.on('error', () => finish(true));
    request.on('close', () => finish(!request.complete));
  });
}

/** Lambda's own error for an answer over its limit (interop.ErrorResponseTooLarge). */
function tooLarge(bytes: number): FunctionResponse {
  // Lambda's words (and RIE's: interop/model.go); the size itself is in `bytes` and on the RESPONSE line.
  const errorMessage = `Response payload size exceeded maximum allowed payload size (${maxInvokeResponseBytes} bytes).`;
  const errorType = 'Function.ResponseSizeTooLarge';
  return { kind: 'error', payload: JSON.stringify({ errorType, errorMessage }), errorType, errorMessage, bytes };
}

/** The error type Lambda keeps of what a runtime names (fatalerror.GetValidRuntimeOrFunctionErrorType). */
export function lambdaErrorType(header: string | undefined): string {
  if (header !== undefined && /(Runtime|Function)\.[A-Z][a-zA-Z]+/u.test(header)) return header;
  return header?.startsWith('Function.') === true ? 'Function.Unknown' : 'Runtime.Unknown';
}

/** An error body's errorType and errorMessage, when it is the JSON object runtimes send. */
function errorFields(text: string): { errorType?: string; errorMessage?: string; filtered?: string } {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
    const { errorType, errorMessage, stackTrace } = parsed as Record<string, unknown>;
    return {
      ...(typeof errorType === 'string' ? { errorType } : {}),
      ...(typeof errorMessage === 'string' ? { errorMessage } : {}),
      filtered: JSON.stringify({ errorMessage, errorType, stackTrace }),
    };
  } catch {
    return {};
  }
}

/** An error a runtime reported (…/error, /init/error, or a streamed response's error trailers). */
export function reportedError(header: string | undefined, body: string, contentType?: string): FunctionResponse {
  const fields = errorFields(body);
  // With the error-cause content type, RIE passes on errorMessage, errorType and stackTrace only.
  const payload =
    contentType === 'application/vnd.aws.lambda.error.cause+json' && fields.filtered !== undefined
      ? fields.filtered
      : body;
  return {
    kind: 'error',
    payload,
    errorType: fields.errorType ?? lambdaErrorType(header),
    ...(fields.errorMessage === undefined ? {} : { errorMessage: fields.errorMessage }),
    bytes: Buffer.byteLength(body),
  };
}

function headerOf(headers: http.IncomingHttpHeaders | NodeJS.Dict<string>, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** What the read answer means for the invoke: the response, the reported error, or Lambda's error. */
function answerOf(request: http.IncomingMessage, kind: FunctionResponse['kind'], body: ReadBody): FunctionResponse {
  if (body.text === undefined) return tooLarge(body.bytes);
  if (body.aborted) {
    const errorMessage = 'the runtime closed the connection before its answer ended';
    return {
      kind: 'error',
      payload: JSON.stringify({ errorType: 'Runtime.TruncatedResponse', errorMessage }),
      errorType: 'Runtime.TruncatedResponse',
      errorMessage,
    };
  }
  const streamed = request.headers['lambda-runtime-function-response-mode'] === 'streaming';
  const trailerType = headerOf(body.trailers, 'lambda-runtime-function-error-type');
  if (kind === 'error') {
    return reportedError(
      headerOf(request.headers, 'lambda-runtime-function-error-type'),
      body.text,
      request.headers['content-type'],
    );
  }
  if (streamed && trailerType !== undefined) {
    // A streamed response that failed midway names its error in trailers (the body, base64).
    const trailerBody = headerOf(body.trailers, 'lambda-runtime-function-error-body');
    const errorBody = trailerBody === undefined ? '' : Buffer.from(trailerBody, 'base64').toString('utf8');
    return { ...reportedError(trailerType, errorBody), streamed: true };
  }
  return { kind: 'response', payload: body.text, bytes: body.bytes, ...(streamed ? { streamed: true } : {}) };
}

/** `POST …/invocation/{id}/response` and `…/error`. */
export async function runtimeAnswer(
  runtime: FunctionRuntime,
  route: { requestId: string; kind: FunctionResponse['kind'] },
  request: http.IncomingMessage,
  response: http.ServerResponse,
): Promise<void> {
  const startedAt = preciseNow();
  const refusal = runtime.beginAnswer(route.requestId, route.kind);
  if (refusal !== undefined) {
    request.resume();
    refuse(response, refusal);
    return;
  }
  const mode = request.headers['lambda-runtime-function-response-mode'];
  if (route.kind === 'response' && mode !== undefined && mode !== 'streaming') {
    request.resume();
    const errorType = 'Runtime.InvalidResponseModeHeader';
    runtime.answered(route.requestId, { kind: 'error', payload: '', errorType, startedAt, receivedAt: preciseNow() });
    send(response, 400, { errorMessage: 'Invalid function response mode', errorType: 'InvalidFunctionResponseMode' });
    return;
  }
  const body = await readAnswer(request);
  const answer = answerOf(request, route.kind, body);
  runtime.answered(route.requestId, { ...answer, startedAt, receivedAt: preciseNow() });
  if (body.text === undefined) {
    send(response, 413, {
      errorMessage: `Exceeded maximum allowed payload size (${maxInvokeResponseBytes} bytes).`,
      errorType: 'RequestEntityTooLarge',
    });
  } else if (!body.aborted) {
    accepted(response);
  }
}

/** `POST /2018-06-01/runtime/init/error`: the runtime failed its Init and says why. */
export async function runtimeInitError(
  runtime: FunctionRuntime,
  request: http.IncomingMessage,
  response: http.ServerResponse,
): Promise<void> {
  const body = await readAnswer(request);
  const header = headerOf(request.headers, 'lambda-runtime-function-error-type');
  const error = body.text === undefined ? tooLarge(body.bytes) : reportedError(header, body.text);
  const refusal = runtime.reportInitError(error);
  if (refusal !== undefined) refuse(response, refusal);
  else accepted(response);
}

/**
 * Serves a path under /2018-06-01/runtime: true once answered, false when no route matches (the server
 * then answers 404 as for any unknown path).
 */
export async function routeRuntime(
  runtime: FunctionRuntime,
  url: string,
  method: string,
  request: http.IncomingMessage,
  response: http.ServerResponse,
): Promise<boolean> {
  const invocation = invocationRoute(url);
  const expected =
    url === `${runtimeApiPrefix}/invocation/next`
      ? 'GET'
      : invocation !== undefined || url === `${runtimeApiPrefix}/init/error`
        ? 'POST'
        : undefined;
  if (expected === undefined) return false;
  if (method !== expected) {
    request.resume();
    const errorMessage = `Method ${capped(method, maxHeaderValueLength)} not allowed on ${capped(url, maxHeaderValueLength)}`;
    send(response, 405, { errorMessage, errorType: 'MethodNotAllowed' }, { Allow: expected });
  } else if (invocation !== undefined) {
    await runtimeAnswer(runtime, invocation, request, response);
  } else if (expected === 'GET') {
    request.resume();
    runtimeNext(runtime, response);
  } else {
    await runtimeInitError(runtime, request, response);
  }
  return true;
}

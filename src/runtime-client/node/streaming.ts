import { Writable } from 'node:stream';
import { buildContext, type InvokeHeaders } from './context.js';
import { errorBody } from './errors.js';
import type { Handler } from './handler.js';
import type { RuntimeApiClient } from './runtime-api.js';

/*
 * Response streaming: `awslambda.streamifyResponse(handler)` marks a handler that writes its answer to a stream,
 * `handler(event, responseStream, context)`. The answer goes to `…/response` chunked, with
 * `Lambda-Runtime-Function-Response-Mode: streaming`; an error after the first byte travels in the trailers
 * `Lambda-Runtime-Function-Error-Type` / `-Error-Body` (base64 JSON), as Lambda's runtime sends it.
 */

const streamingMark = Symbol.for('aws.lambda.runtime.handler.streaming');
const highWaterMarkMark = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');
const defaultContentType = 'application/octet-stream';
const httpIntegrationContentType = 'application/vnd.awslambda.http-integration-response';

type Marked = Handler & { [streamingMark]?: unknown; [highWaterMarkMark]?: unknown };

export function isStreamingHandler(handler: Handler): boolean {
  return (handler as Marked)[streamingMark] === 'response';
}

interface ResponseStream extends Writable {
  setContentType(contentType: string): void;
}

class HttpResponseStream {
  /** Writes API Gateway / function URL's prelude (status, headers, cookies), then the eight NUL bytes after it. */
  static from(stream: ResponseStream, prelude: unknown): ResponseStream {
    stream.setContentType(httpIntegrationContentType);
    stream.write(JSON.stringify(prelude));
    stream.write(new Uint8Array(8));
    return stream;
  }
}

/** `globalThis.awslambda`, which Lambda's Node runtime provides to user code (unless told not to). */
export function installGlobal(environment = process.env): void {
  const off = environment['AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA'];
  if (off === '1' || off === 'true') return;
  (globalThis as Record<string, unknown>)['awslambda'] = {
    streamifyResponse: (handler: Marked, options?: { highWaterMark?: unknown }) => {
      handler[streamingMark] = 'response';
      if (typeof options?.highWaterMark === 'number') handler[highWaterMarkMark] = Math.trunc(options.highWaterMark);
      return handler;
    },
    HttpResponseStream,
  };
}

/** Runs one streamed invoke; `finished(error?)` once its answer is posted. */
export function runStreamingInvoke(
  client: RuntimeApiClient,
  handler: Handler,
  body: string,
  invoke: InvokeHeaders,
  finished: (error?: unknown) => void,
): void {
  let contentType = defaultContentType;
  let opened: ReturnType<RuntimeApiClient['openStream']> | undefined;
  const open = () => {
    opened ??= client.openStream(invoke.requestId, {
      'Content-Type': contentType,
      'Lambda-Runtime-Function-Response-Mode': 'streaming',
      'Transfer-Encoding': 'chunked',
      Trailer: ['Lambda-Runtime-Function-Error-Type', 'Lambda-Runtime-Function-Error-Body'],
    });
    return opened;
  };
  const highWaterMark = (handler as Marked)[highWaterMarkMark];
  const stream = new Writable({
    ...(typeof highWaterMark === 'number' ? { highWaterMark } : {}),
    write(chunk: Buffer, _encoding, callback) {
      open().request.write(chunk, callback);
    },
    final(callback) {
      open().request.end(callback);
    },
  }) as ResponseStream;
  stream.setContentType = (value: string) => {
    if (opened) throw new Error('Cannot set content-type, too late.');
    contentType = value;
  };

  let settled = false;
  const fail = (error: unknown) => {
    if (settled) return;
    settled = true;
    const details = errorBody(error);
    if (!opened) {
      // Nothing streamed yet: an ordinary error answer.
      client.postError(invoke.requestId, details).then(
        () => finished(error),
        () => finished(error),
      );
      return;
    }
    const { request, done } = opened;
    if (!request.writableEnded) {
      request.addTrailers({
        'Lambda-Runtime-Function-Error-Type': details.errorType.replace(/[^\x20-\x7E]/g, ''),
        'Lambda-Runtime-Function-Error-Body': Buffer.from(JSON.stringify(details)).toString('base64'),
      });
      request.end();
    }
    done.then(
      () => finished(error),
      () => finished(error),
    );
  };

  let result: unknown;
  try {
    const context = buildContext({}, invoke);
    result = handler(JSON.parse(body) as unknown, stream, context);
  } catch (error) {
    fail(error);
    return;
  }
  if (!(result instanceof Promise)) {
    fail(new Error('Streaming does not support non-async handlers.'));
    return;
  }
  result.then((value: unknown) => {
    if (value !== undefined) console.warn('Streaming handlers ignore return values.');
    if (!stream.writableFinished) return fail(new Error('Response stream is not finished.'));
    settled = true;
    open().done.then(
      () => finished(),
      (error: unknown) => finished(error),
    );
  }, fail);
}

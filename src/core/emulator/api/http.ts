import type http from 'node:http';

/**
 * What every route shares: answers in RIE's error model
 * (docs/reference/extensions-api.md §2.5: almost everything is 403 plus an
 * `errorType`), bounded bodies and bounded echoes of what a client sent.
 */

const maxBodyBytes = 1024 * 1024;
/** Longest header value (extension name, error type) the emulator keeps; Lambda's own names are far shorter. */
export const maxHeaderValueLength = 256;

export function send(
  response: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (response.headersSent || response.writableEnded) return;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'Content-Length': String(Buffer.byteLength(text)),
    ...headers,
  });
  response.end(text);
}

export function forbidden(response: http.ServerResponse, errorType: string, errorMessage: string): void {
  send(response, 403, { errorMessage, errorType });
}

export function capped(text: string, maximumLength: number): string {
  return text.length > maximumLength
    ? `${text.slice(0, maximumLength)}… (${text.length - maximumLength} more characters)`
    : text;
}

/**
 * The request body, or undefined once it has answered 413: a body over
 * `maxBodyBytes` is not read further, and the connection closes after the
 * answer (the rest of the body would otherwise have to be read to reuse it).
 */
export function readBody(request: http.IncomingMessage, response: http.ServerResponse): Promise<string | undefined> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBodyBytes) {
    tooLarge(request, response);
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        request.off('data', onData);
        chunks.length = 0;
        tooLarge(request, response);
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function tooLarge(request: http.IncomingMessage, response: http.ServerResponse): void {
  request.pause();
  send(
    response,
    413,
    {
      errorMessage: `request body larger than ${maxBodyBytes} bytes; the emulator reads no more of it`,
      errorType: 'RequestEntityTooLarge',
    },
    { Connection: 'close' },
  );
  // Once the answer is out, drop the connection rather than read the rest of the body.
  response.once('finish', () => request.socket.destroy());
}

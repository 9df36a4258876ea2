import { readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import fc from 'fast-check';
import { Emulator } from '../../../src/core/emulator/index.js';
import { addNodeExtension, makeLayer } from '../../helpers/emulator-fixtures.js';
import { check, runForBudget, type FuzzTarget } from '../harness.js';

/**
 * Random and mutated requests to the Extensions and Telemetry APIs, sent
 * while a well-behaved extension runs beside them: raw bytes over a socket
 * (broken request lines, headers, lengths and chunking) and well-formed
 * requests through node:http. Every answer must be RIE's error model (or a
 * 2xx), the emulator must not note an internal error, and the good
 * extension must still receive each invoke.
 */

const routes = [
  '/2020-01-01/extension/register',
  '/2020-01-01/extension/event/next',
  '/2020-01-01/extension/init/error',
  '/2020-01-01/extension/exit/error',
  '/2022-07-01/telemetry',
  '/2020-08-15/logs',
];

const token = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}$/);
const method = fc.oneof(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH'), token);
const route = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...routes) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...routes), fc.constantFrom('/', '?x=1', '//', '/..', '%00', '#f', '?', '%2F'))
      .map(([base, tail]) => base + tail),
  },
  { weight: 1, arbitrary: fc.webPath() },
);
const identifier = fc.oneof(
  fc.uuid(),
  fc.constantFrom('', '00000000-0000-0000-0000-000000000000', 'not-a-uuid', ' '.repeat(3)),
  fc.string({ maxLength: 40 }),
);
const headerValue = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.constantFrom('INVOKE', 'accountId', 'application/json', 'Extension.Crash', 'good', 'sleeper'),
  fc.string({ minLength: 200, maxLength: 5_000 }),
);
const headerName = fc.oneof(
  fc.constantFrom(
    'Lambda-Extension-Name',
    'Lambda-Extension-Identifier',
    'Lambda-Extension-Function-Error-Type',
    'Lambda-Extension-Accept-Feature',
    'Content-Type',
    'Transfer-Encoding',
    'Content-Encoding',
    'Expect',
    'Connection',
  ),
  token,
);
const eventsValue = fc.oneof(
  fc.subarray(['INVOKE', 'SHUTDOWN']),
  fc.array(fc.oneof(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 1 })), { maxLength: 4 }),
  fc.jsonValue({ maxDepth: 2 }),
);
const subscription = fc.record(
  {
    schemaVersion: fc.oneof(fc.constantFrom('2022-12-13', '2022-07-01', '2025-01-29', '2020-08-15'), fc.jsonValue()),
    types: fc.oneof(fc.subarray(['platform', 'function', 'extension']), fc.jsonValue({ maxDepth: 2 })),
    buffering: fc.oneof(
      fc.record({ maxItems: fc.integer(), maxBytes: fc.integer(), timeoutMs: fc.integer() }, { requiredKeys: [] }),
      fc.jsonValue({ maxDepth: 2 }),
    ),
    destination: fc.oneof(
      fc.record({
        protocol: fc.constantFrom('HTTP', 'TCP', 'http', ''),
        URI: fc.oneof(
          fc.constantFrom('http://sandbox.localdomain:1/x', 'http://127.0.0.1:1/', 'file:///etc/passwd'),
          fc.string(),
        ),
      }),
      fc.jsonValue({ maxDepth: 2 }),
    ),
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  fc.constant(''),
  fc.record({ events: eventsValue }, { requiredKeys: [] }).map((value) => JSON.stringify(value)),
  subscription.map((value) => JSON.stringify(value)),
  fc
    .record({ errorMessage: fc.string(), errorType: fc.string(), stackTrace: fc.array(fc.string()) })
    .map((value) => JSON.stringify(value)),
  fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 100 }),
);

interface RequestShape {
  method: string;
  route: string;
  identifier: string | undefined;
  headers: [string, string][];
  body: string;
}

const requestShape: fc.Arbitrary<RequestShape> = fc.record({
  method,
  route,
  identifier: fc.option(identifier, { nil: undefined }),
  headers: fc.array(fc.tuple(headerName, headerValue), { maxLength: 5 }),
  body,
});

/** How the raw request is framed, and what breaks it. */
const framing = fc.record({
  version: fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 extra', ''),
  length: fc.constantFrom(
    'exact',
    'exact',
    'none',
    'short',
    'long',
    'negative',
    'garbage',
    'twice',
    'chunked',
    'bad-chunked',
  ),
  lineEnd: fc.constantFrom('\r\n', '\r\n', '\n', '\r'),
  injected: fc.option(fc.constantFrom('\r\nX-Injected: 1', '\0', ' \t', '\r\n\r\nGET / HTTP/1.1', 'é'), {
    nil: undefined,
  }),
  pipelined: fc.nat({ max: 2 }),
  splitAt: fc.option(fc.nat({ max: 200 }), { nil: undefined }),
});

type Framing = typeof framing extends fc.Arbitrary<infer T> ? T : never;

function rawBytes(shape: RequestShape, frame: Framing): Buffer {
  const end = frame.lineEnd;
  const lines = [`${shape.method} ${shape.route}${frame.injected ?? ''} ${frame.version}`.trimEnd(), 'Host: sandbox'];
  if (shape.identifier !== undefined) lines.push(`Lambda-Extension-Identifier: ${shape.identifier}`);
  for (const [name, value] of shape.headers) lines.push(`${name}: ${value}`);
  const payload = Buffer.from(shape.body);
  let content: Buffer = payload;
  switch (frame.length) {
    case 'exact':
      lines.push(`Content-Length: ${payload.length}`);
      break;
    case 'short':
      lines.push(`Content-Length: ${Math.max(0, payload.length - 3)}`);
      break;
    case 'long':
      lines.push(`Content-Length: ${payload.length + 7}`);
      break;
    case 'negative':
      lines.push('Content-Length: -5');
      break;
    case 'garbage':
      lines.push('Content-Length: 12abc');
      break;
    case 'twice':
      lines.push(`Content-Length: ${payload.length}`, `Content-Length: ${payload.length + 1}`);
      break;
    case 'chunked':
      lines.push('Transfer-Encoding: chunked');
      content = Buffer.concat([
        Buffer.from(`${payload.length.toString(16)}\r\n`),
        payload,
        Buffer.from('\r\n0\r\n\r\n'),
      ]);
      break;
    case 'bad-chunked':
      lines.push('Transfer-Encoding: chunked');
      content = Buffer.concat([Buffer.from('zz\r\n'), payload]);
      break;
    default:
      break;
  }
  return Buffer.concat([Buffer.from(lines.join(end) + end + end, 'latin1'), content]);
}

interface Answer {
  status: number;
  body: string;
}

/** Every answer on the connection; the client half-closes after sending, so a stalled parse ends too. */
function sendRaw(
  api: string,
  bytes: Buffer,
  splitAt: number | undefined,
  method: string,
): Promise<{ answers: Answer[]; text: string; hung: boolean; problem?: string }> {
  const [host, port] = api.split(':');
  return new Promise((resolve) => {
    const socket = net.connect({ host, port: Number(port) });
    const chunks: Buffer[] = [];
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      socket.destroy();
    }, 15_000);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      try {
        resolve({ answers: parseResponses(text, method), text, hung });
      } catch (error) {
        resolve({ answers: [], text, hung, problem: (error as Error).message });
      }
    });
    socket.on('connect', () => {
      if (splitAt !== undefined && splitAt < bytes.length) {
        socket.write(bytes.subarray(0, splitAt));
        setTimeout(() => socket.end(bytes.subarray(splitAt)), 5);
      } else {
        socket.end(bytes);
      }
    });
  });
}

/** Splits a byte stream of HTTP/1.1 responses with Content-Length bodies (all the emulator sends). */
function parseResponses(text: string, method: string): Answer[] {
  const answers: Answer[] = [];
  let rest = text;
  while (rest.length > 0) {
    const headEnd = rest.indexOf('\r\n\r\n');
    if (headEnd < 0) throw new Error(`an unterminated response head: ${JSON.stringify(rest.slice(0, 200))}`);
    const head = rest.slice(0, headEnd);
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(head);
    if (status === null) throw new Error(`not an HTTP response: ${JSON.stringify(head.slice(0, 200))}`);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    const chunked = /\r\ntransfer-encoding: *chunked/i.test(head);
    if (length === null && chunked) throw new Error('a chunked answer (the emulator always sends a length)');
    // An answer to HEAD declares its length but carries no body.
    // unless what follows is the next answer's body (a 400 for a broken request after it is not a HEAD answer).
    const after = rest.slice(headEnd + 4);
    const bodiless = method === 'HEAD' && (after === '' || after.startsWith('HTTP/'));
    const size = length === null || bodiless ? 0 : Number(length[1]);
    answers.push({ status: Number(status[1]), body: rest.slice(headEnd + 4, headEnd + 4 + size) });
    rest = rest.slice(headEnd + 4 + size);
  }
  return answers;
}

function sendHttp(api: string, shape: RequestShape): Promise<Answer | undefined> {
  const [host, port] = api.split(':');
  return new Promise((resolve) => {
    const headers: http.OutgoingHttpHeaders = {};
    if (shape.identifier !== undefined) headers['Lambda-Extension-Identifier'] = shape.identifier;
    for (const [name, value] of shape.headers) {
      if (
        /^[\t\x20-\x7e\x80-\xff]*$/.test(value) &&
        !/^(transfer-encoding|content-length|connection|expect)$/i.test(name)
      )
        headers[name] = value;
    }
    const request = http.request(
      {
        host,
        port: Number(port),
        method: shape.method,
        path: shape.route.replace(/[^\x21-\x7e]/g, '_'),
        headers,
        agent: false,
      },
      (response) => {
        let text = '';
        response.setEncoding('latin1');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
        response.on('error', () => resolve({ status: response.statusCode ?? 0, body: text }));
      },
    );
    request.setTimeout(15_000, () => request.destroy(new Error('no answer in 15 s')));
    request.on('error', (error) => resolve({ status: -1, body: String(error) }));
    request.end(shape.method === 'GET' || shape.method === 'HEAD' ? undefined : shape.body);
  });
}

function checkAnswer(answer: Answer, method: string, context: string): void {
  check(answer.status >= 200 && answer.status < 600, () => `${context}: status ${answer.status}: ${answer.body}`);
  if (answer.status < 300 || method === 'HEAD') return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.body);
  } catch {
    throw new Error(`${context}: a ${answer.status} answer is not JSON: ${JSON.stringify(answer.body.slice(0, 200))}`);
  }
  const model = parsed as Record<string, unknown>;
  check(
    typeof model === 'object' &&
      model !== null &&
      typeof model['errorMessage'] === 'string' &&
      typeof model['errorType'] === 'string',
    () => `${context}: a ${answer.status} answer is not the error model: ${answer.body.slice(0, 200)}`,
  );
  check(answer.body.length < 4_096, () => `${context}: a ${answer.body.length}-byte error answer`);
}

export const emulatorApiTarget: FuzzTarget = {
  name: 'emulator-api',
  description:
    'random and malformed requests (raw socket and node:http) to register, event/next, init/error, exit/error, telemetry and logs: every answer is the error model, no internal error, and a well-behaved extension beside them still gets every invoke',
  async run(budget) {
    const layer = await makeLayer();
    const eventsFile = path.join(layer, 'events.jsonl');
    await addNodeExtension(layer, 'good', { eventsFile });
    const emulator = new Emulator({ layerDirectory: layer, initTimeoutMs: 30_000 });
    try {
      const api = await emulator.listen();
      const init = await emulator.start();
      check(init.status === 'success', () => `init failed: ${JSON.stringify(init)}`);
      let invokes = 0;
      const property = fc.asyncProperty(
        fc.array(fc.tuple(requestShape, fc.option(framing, { nil: undefined })), { minLength: 1, maxLength: 4 }),
        async (requests) => {
          const timelineStart = emulator.timeline.length;
          for (const [shape, frame] of requests) {
            const context = `${shape.method} ${shape.route}`;
            if (frame === undefined) {
              const answer = await sendHttp(api, shape);
              check(answer !== undefined && answer.status !== -1, () => `${context}: ${answer?.body ?? 'no answer'}`);
              checkAnswer(answer, shape.method, context);
            } else {
              let bytes = rawBytes(shape, frame);
              for (let copy = 0; copy < frame.pipelined; copy++) bytes = Buffer.concat([bytes, rawBytes(shape, frame)]);
              const { answers, hung, problem } = await sendRaw(api, bytes, frame.splitAt, shape.method);
              check(problem === undefined, () => `raw ${context}: ${problem}`);
              check(!hung, () => `${context}: the connection was still open 15 s after the client finished`);
              for (const answer of answers) checkAnswer(answer, shape.method, `raw ${context}`);
            }
          }
          const internal = emulator.timeline.slice(timelineStart).find((entry) => /internal error/.test(entry.text));
          check(internal === undefined, () => `the emulator noted: ${internal?.text}`);
          const invoked = await emulator.invoke();
          invokes += 1;
          check(invoked.status === 'success', () => `an invoke beside the requests ended ${invoked.status}`);
          const seen = (await readFile(eventsFile, 'utf8')).trim().split('\n').length;
          check(seen === invokes, () => `the good extension saw ${seen} of ${invokes} invokes`);
          const verdict = emulator.verdicts.find((candidate) => candidate.extension === 'good');
          check(verdict === undefined, () => `a verdict on the good extension: ${JSON.stringify(verdict)}`);
        },
      );
      return await runForBudget(this.name, property, budget, 10);
    } finally {
      await emulator.close();
      await rm(layer, { recursive: true, force: true });
    }
  },
};

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { scaled } from './time-scale.js';

/**
 * The smallest Extensions API that lets an extension register, receive the
 * given events in order and shut down: enough to prove a built layer starts
 * and speaks the protocol, and to time it precisely (bench/ uses it too).
 * The full emulator is src/core/emulator.
 */
export interface FakeExtensionsApi {
  address: string;
  registrations: { name: string | undefined; acceptFeature: string | undefined; body: unknown }[];
  nextCalls: number;
  /** process.hrtime.bigint() readings: when register arrived, when each event was sent, when each next arrived. */
  timings: { registerAt: bigint[]; eventSentAt: bigint[]; nextAt: bigint[] };
  /** Resolves when the extension has asked for more events than there are. */
  drained: Promise<void>;
  close(): Promise<void>;
}

/** `events` is a list, or a function giving the event for each next call (undefined: hold the poll). */
export async function startFakeExtensionsApi(
  events: object[] | ((index: number) => object | undefined),
): Promise<FakeExtensionsApi> {
  const eventAt = typeof events === 'function' ? events : (index: number) => events[index];
  const timings: FakeExtensionsApi['timings'] = { registerAt: [], eventSentAt: [], nextAt: [] };
  let markDrained = () => {};
  const drained = new Promise<void>((resolve) => (markDrained = resolve));
  const api = { registrations: [] as FakeExtensionsApi['registrations'], nextCalls: 0, timings, drained };
  const server = http.createServer((request, response) => {
    const arrivedAt = process.hrtime.bigint();
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      if (request.method === 'POST' && request.url === '/2020-01-01/extension/register') {
        timings.registerAt.push(arrivedAt);
        api.registrations.push({
          name: request.headers['lambda-extension-name'] as string | undefined,
          acceptFeature: request.headers['lambda-extension-accept-feature'] as string | undefined,
          body: JSON.parse(body || '{}'),
        });
        response.writeHead(200, {
          'Content-Type': 'application/json',
          'Lambda-Extension-Identifier': '8d3a1a3e-6f4b-4a53-9c1e-0d8c2f1b7a11',
        });
        response.end(JSON.stringify({ functionName: 'fake', functionVersion: '$LATEST', handler: 'index.handler' }));
      } else if (request.method === 'GET' && request.url === '/2020-01-01/extension/event/next') {
        timings.nextAt.push(arrivedAt);
        const event = eventAt(api.nextCalls);
        api.nextCalls += 1;
        if (event === undefined) {
          markDrained();
          return; // Hold the long poll, as Lambda does between events.
        }
        response.writeHead(200, { 'Content-Type': 'application/json' });
        response.end(JSON.stringify(event), () => timings.eventSentAt.push(process.hrtime.bigint()));
      } else {
        response.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(api, {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

export const shutdownEvent = () => ({
  eventType: 'SHUTDOWN',
  shutdownReason: 'spindown',
  deadlineMs: Date.now() + scaled(2000),
});
export const invokeEvent = (requestId: string) => ({
  eventType: 'INVOKE',
  requestId,
  deadlineMs: Date.now() + scaled(3000),
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:fake',
  tracing: {
    type: 'X-Amzn-Trace-Id',
    value: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
  },
});

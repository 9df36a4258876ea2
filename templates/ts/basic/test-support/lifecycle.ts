/**
 * Runs the extension's lifecycle (src/extension.ts) against the fake
 * Extensions API, capturing its log lines, for the tests in test/.
 */
import type { TestContext } from 'node:test';
import { run, type Handlers, type RunOptions } from '../src/extension.js';
import { ExtensionsApiClient } from '../src/extensions-api.js';
import { events } from '../src/handlers.js';
import { createLogger, type LogFields } from '../src/log.js';
import { FakeExtensionsApi } from './fake-extensions-api.js';

export async function start(t: TestContext, handlers: Handlers, options: Partial<RunOptions> = {}, apiOptions: { managedInstances?: boolean } = {}) {
  const api = await FakeExtensionsApi.start(apiOptions);
  const client = new ExtensionsApiClient(api.address);
  const lines: LogFields[] = [];
  const log = createLogger({ level: 'debug', base: { extension: 'my-ext' }, write: (line) => lines.push(JSON.parse(line) as LogFields) });
  t.after(async () => {
    client.close();
    await api.close();
  });
  const exitCode = run({ client, name: 'my-ext', version: '1.2.3', events, handlers, log, env: {}, ...options });
  return { api, exitCode, lines, messages: () => lines.map((line) => line['msg']) };
}

export const inSeconds = (seconds: number): number => Date.now() + seconds * 1000;
export const invokeEvent = (requestId: string, deadlineMs = inSeconds(3)) => ({
  eventType: 'INVOKE',
  deadlineMs,
  requestId,
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:f',
});
export const shutdownEvent = (deadlineMs = inSeconds(2)) => ({ eventType: 'SHUTDOWN', deadlineMs, shutdownReason: 'spindown' });

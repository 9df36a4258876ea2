/**
 * Process entry point: starts the proxy, then runs the extension's lifecycle
 * (src/extension.ts) and exits with its code.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './extension.js';
import { ExtensionsApiClient } from './extensions-api.js';
import { createProxyHandlers, eventLogLevel, events, startProxy } from './handlers.js';
import { createLogger, stackOf } from './log.js';

// `ext build` replaces process.env.EXTENSION_VERSION with the version in lambda-extension.json.
const version = process.env.EXTENSION_VERSION ?? 'dev';
// The launcher in /opt/extensions sets LAMBDA_EXTENSION_NAME to its own file
// name; without it, use the directory of the bundle (/opt/<name>/index.mjs).
const name = process.env.LAMBDA_EXTENSION_NAME || path.basename(path.dirname(fileURLToPath(import.meta.url)));
const log = createLogger({ base: { extension: name } });

// Exit explicitly once stdout is flushed: a socket left open must not keep
// the process alive past its deadline.
function exit(code: number): void {
  process.stdout.write('', () => process.exit(code));
}

async function main(): Promise<number> {
  const client = new ExtensionsApiClient(process.env.AWS_LAMBDA_RUNTIME_API);
  const controller = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      log.info('signal received', { signal });
      controller.abort();
    });
  }
  // A stray throw would otherwise end the process unreported (Extension.Crash),
  // and with it the proxy every invocation goes through: report it first.
  const crash = (error: unknown): void => {
    log.error('uncaught error', { error, stack: stackOf(error) });
    setTimeout(() => exit(1), 1000).unref();
    client.exitError('Extension.UncaughtError', error).then(
      () => exit(1),
      () => exit(1),
    );
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  // Listening before registering: Lambda starts the runtime once every extension has registered.
  const started = await startProxy({ name, env: process.env, log });
  try {
    return await run({ client, name, version, events, handlers: createProxyHandlers(started), eventLogLevel, log, signal: controller.signal });
  } finally {
    client.close();
    await started.proxy?.close();
  }
}

main().then(exit, (error: unknown) => {
  log.error('fatal', { error, stack: stackOf(error) });
  exit(1);
});

/**
 * Process entry point: reads the environment, wires signals, runs the
 * extension and exits with its code. The logic lives in src/extension.ts.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './extension.js';
import { ExtensionsApiClient } from './extensions-api.js';
import { eventLogLevel, events, handlers } from './handlers.js';
import { createLogger, stackOf } from './log.js';

// `ext build` replaces process.env.EXTENSION_VERSION with the version in lambda-extension.json.
const version = process.env.EXTENSION_VERSION ?? 'dev';
// The launcher in /opt/extensions sets LAMBDA_EXTENSION_NAME to its own file
// name; without it, use the directory of the bundle (/opt/<name>/index.mjs).
const name = process.env.LAMBDA_EXTENSION_NAME || path.basename(path.dirname(fileURLToPath(import.meta.url)));
const log = createLogger({ base: { extension: name } });

// Exit explicitly once stdout is flushed: a timer or socket left open by
// handler code must not keep the process alive past its deadline.
function exit(code: number): void {
  process.stdout.write('', () => process.exit(code));
}

async function main(): Promise<number> {
  const client = new ExtensionsApiClient(process.env.AWS_LAMBDA_RUNTIME_API);
  const controller = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    // `once`: a second Ctrl-C falls back to the default and kills the process.
    process.once(signal, () => {
      log.info('signal received', { signal });
      controller.abort();
    });
  }
  // A stray throw in handler code would otherwise end the process unreported
  // (Extension.Crash); report it first, as Lambda asks.
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
  try {
    return await run({ client, name, version, events, handlers, eventLogLevel, log, signal: controller.signal });
  } finally {
    client.close();
  }
}

main().then(exit, (error: unknown) => {
  log.error('fatal', { error, stack: stackOf(error) });
  exit(1);
});

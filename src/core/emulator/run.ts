import fs from 'node:fs/promises';
import { CliError } from '../errors.js';
import { Emulator } from './emulator.js';
import type { EmulatorSettings } from './environment/settings.js';
import { listExtensionFiles, noExtensionsError, type ExtensionFile } from '../layer/extensions.js';
import type { EmulatorOptions, EmulatorReport } from './types.js';

/** A pause between invokes that ends early when the run is interrupted: Ctrl-C must not wait out --interval. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
  });
}

/**
 * Runs one whole lifecycle (Init, N invokes, Shutdown) against a layer
 * directory and returns the report. Stops invoking after the first verdict:
 * the environment has failed, as it would have on Lambda. The function's
 * own errors (a real runtime's error, timeout, crash or failed Init) are no
 * verdicts: the next event is invoked in a fresh environment when needed.
 */
export async function runEmulator(options: EmulatorOptions): Promise<EmulatorReport> {
  const extensionFiles = await requireExtensions(options);
  const emulator = new Emulator({ ...options, extensionFiles });
  try {
    const init = await emulator.start();
    // A runtime that failed its Init is the function's error: each invoke re-runs Init and gets it, as on Lambda.
    if (init.status === 'success' || (init.errorType !== undefined && emulator.verdicts.length === 0)) {
      await invokeAll(emulator, emulator.settings);
      await emulator.shutdown('spindown');
    }
  } finally {
    await emulator.close();
  }
  return emulator.report();
}

/**
 * The invokes, one after the other on demand; on Managed Instances up to
 * `maxConcurrency` in flight, a new one starting as soon as a slot is free
 * (and `intervalMs` after the slot freed). No new invoke after a verdict
 * or an interrupt; those in flight finish.
 */
async function invokeAll(emulator: Emulator, settings: EmulatorSettings): Promise<void> {
  const count = settings.invokes;
  // Settle-promises, so that one failed invoke neither cuts the wait for the others short nor leaves
  // their rejections unhandled; the first failure is rethrown once every invoke has ended.
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  const stopped = () => failure !== undefined || emulator.verdicts.length > 0 || settings.signal?.aborted === true;
  for (let index = 0; index < count; index += 1) {
    if (stopped()) break;
    // Wait for a free slot first: on demand the pause then runs after the previous invoke ended.
    while (inFlight.size >= emulator.maxConcurrency) await Promise.race(inFlight);
    if (index > 0) {
      // On demand the environment may be frozen for the gap (Emulator.frozen), then at least freezeMs long.
      const gapMs = Math.max(settings.intervalMs, settings.freezeMs ?? 0);
      if (emulator.freezesBetweenInvokes) await emulator.frozen(() => pause(gapMs, settings.signal));
      else if (gapMs > 0) await pause(gapMs, settings.signal);
    }
    if (stopped()) break;
    const invoke: Promise<void> = emulator.invoke().then(
      () => void inFlight.delete(invoke),
      (error: unknown) => {
        inFlight.delete(invoke);
        failure ??= { error };
      },
    );
    inFlight.add(invoke);
  }
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure.error;
}

/**
 * A run with nothing to run would "pass" and prove nothing: refuse it,
 * naming the folder as the caller gave it.
 */
async function requireExtensions({
  layerDirectory,
  extensionFiles,
}: EmulatorOptions): Promise<readonly ExtensionFile[]> {
  const stat = await fs.stat(layerDirectory).catch(() => undefined);
  if (stat === undefined || !stat.isDirectory()) {
    throw new CliError(
      `layer directory ${layerDirectory} ${stat === undefined ? 'does not exist' : 'is not a folder'}`,
      {
        code: 'E_EMULATOR_LAYER_MISSING',
        hint: 'pass the folder that becomes /opt, holding extensions/',
      },
    );
  }
  const files = extensionFiles ?? (await listExtensionFiles(layerDirectory));
  if (files.length === 0) throw noExtensionsError(layerDirectory);
  return files;
}

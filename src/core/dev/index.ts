import { runEmulator } from '../emulator/run.js';
import type { EmulatorReport } from '../emulator/types.js';
import { prepareLayer } from './layer.js';
import { emulatorOptions, type DevOptions } from './options.js';

/**
 * `ext dev`: find or build the layer, then run it in the emulator, once or
 * on every source change.
 */

export type { DevOptions, DevStatusKind } from './options.js';
export { prepareLayer } from './layer.js';
export type { PreparedLayer } from './options.js';
export { firstDifference, pollForChanges, snapshotFiles, watchDev, watchPollIntervalMs } from './watch.js';

/** Builds or unpacks the layer and runs one lifecycle in the emulator. */
export async function runDev(options: DevOptions): Promise<EmulatorReport> {
  const layer = await prepareLayer(options, false);
  try {
    return await runEmulator(emulatorOptions(options, layer, options.signal));
  } finally {
    await layer.cleanup();
  }
}

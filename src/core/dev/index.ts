import { runEmulator } from '../emulator/run.js';
import type { EmulatorReport } from '../emulator/types.js';
import { devEvents, functionUsesNode, prepareDevFunction, resolveDevFunction } from './function.js';
import { prepareLayer } from './layer.js';
import { emulatorOptions, type DevOptions } from './options.js';

/**
 * `ext dev`: find or build the layer, then run it in the emulator, once or
 * on every source change; with a function (`--function`, or dev.function in
 * lambda-extension.json), the real function runs beside it.
 */

export type { DevOptions, DevStatusKind } from './options.js';
export type { DevFunctionOptions } from './function.js';
export { firstDifference, pollForChanges, snapshotFiles, watchDev, watchPollIntervalMs } from './watch.js';

/** Builds or unpacks the layer, prepares the function if there is one, and runs one lifecycle in the emulator. */
export async function runDev(options: DevOptions): Promise<EmulatorReport> {
  const request = await resolveDevFunction(options);
  const events = await devEvents(request);
  const layer = await prepareLayer(options, false, functionUsesNode(request));
  try {
    const prepared = request === undefined ? undefined : await prepareDevFunction(request, options, layer.directory);
    try {
      return await runEmulator(emulatorOptions(options, layer, options.signal, { prepared, events }));
    } finally {
      await prepared?.cleanup();
    }
  } finally {
    await layer.cleanup();
  }
}

/**
 * The local Lambda emulator, as seen by extensions: Extensions API,
 * Telemetry API (with real delivery), lifecycle and verdicts.
 */
export { Emulator, emulatorAccountId } from './emulator.js';
export { maxManagedInstancesConcurrency } from './limits.js';
export { runEmulator } from './run.js';
export { formatTimelineEntry } from './timeline.js';
export { extractLayerZip } from '../layer/unpack.js';
export { parseTelemetryRequest, telemetrySchemaVersions, telemetryTypes } from './telemetry/index.js';
export type { Buffering, TelemetryEnvelope, TelemetryRequest, TelemetryType } from './telemetry/index.js';
export type * from './types.js';
export { emulatedLimitFactor, prepareCpuEmulation } from './cpu-emulation/index.js';
export type { CpuEmulationRequest, EmulationPreference, PreparedEmulation } from './cpu-emulation/index.js';

/**
 * The Managed Instances bound `ext dev`'s flags need, from the layer contract (core/layer/limits.ts, which
 * imports nothing): every `ext` command loads those flags, the emulator itself only when `ext dev` runs.
 */
export { maxManagedInstancesConcurrency } from '../layer/limits.js';

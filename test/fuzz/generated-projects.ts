import type { FuzzTarget } from './harness.js';

/** Filled in below: the generated projects' Go fuzz targets and TS properties. */
export async function generatedProjectTargets(): Promise<FuzzTarget[]> {
  return [];
}

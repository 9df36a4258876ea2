import type { FuzzTarget } from '../harness.js';
import { configTarget } from './config.js';
import { emulatorApiTarget } from './emulator-api.js';
import { launcherTarget } from './launcher.js';
import { goModulesTarget, npmNamesTarget } from './names.js';
import { zipReaderTarget } from './zip-reader.js';
import { zipRoundTripTarget } from './zip-round-trip.js';

/** The toolkit's own property targets, run in-process by `npm test` (briefly) and `npm run fuzz`. */
export const toolkitTargets: FuzzTarget[] = [
  zipRoundTripTarget,
  zipReaderTarget,
  configTarget,
  launcherTarget,
  npmNamesTarget,
  goModulesTarget,
  emulatorApiTarget,
];

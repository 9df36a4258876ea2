import type { Environment } from '../environment/index.js';
import type { ExtensionProcesses } from '../processes/extension-processes.js';

/** Whether this run freezes the environment between invokes: on demand, when asked for. */
export function freezesBetweenInvokes(environment: Environment): boolean {
  return environment.settings.freezeMs !== undefined;
}

/**
 * Runs `gap` (the pause between two invokes) with the environment frozen,
 * as Lambda freezes an idle one: every process of the layer SIGSTOPped,
 * telemetry delivery held, then SIGCONT. Timers of the extensions do not
 * fire, and a request they had in flight straddles the freeze, as on
 * Lambda. Not on Managed Instances (never frozen), nor without an
 * initialised environment.
 */
export async function frozen(
  environment: Environment,
  processes: ExtensionProcesses,
  gap: () => Promise<void>,
): Promise<void> {
  if (!freezesBetweenInvokes(environment) || !environment.initialized || environment.closed) return gap();
  environment.hub.pause();
  const stopped = processes.freeze();
  environment.freezes += 1;
  if (environment.freezes === 1) {
    const minimumMs = environment.settings.freezeMs ?? 0;
    environment.record(
      'freeze',
      `FREEZE between invokes the environment is frozen, as on Lambda: SIGSTOP to every process of the layer (${stopped} now), ` +
        `telemetry held, SIGCONT before the next invoke; at least ${minimumMs} ms each time`,
      { data: { processes: stopped, minimumMs } },
    );
  }
  try {
    await gap();
  } finally {
    processes.thaw();
    environment.hub.resume();
  }
}

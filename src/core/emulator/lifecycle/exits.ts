import { changeState, hasReportedError, type Agent } from '../environment/agents.js';
import type { Environment } from '../environment/index.js';

/**
 * An extension's process ended. Before SHUTDOWN that is a crash on Lambda,
 * whatever the exit code; after it, or when the emulator killed it, it is
 * the expected end.
 */
export function extensionExited(
  environment: Environment,
  agent: Agent,
  code: number | null,
  signal: NodeJS.Signals | null,
): void {
  agent.exited = true;
  agent.exitCode = code;
  agent.signal = signal;
  agent.exitedAt = Date.now();
  environment.releasePending(agent);
  const expected = agent.killedBy !== undefined || environment.phase === 'shutdown' || hasReportedError(agent);
  if (agent.killedBy === 'deadline') {
    changeState(agent, 'ShutdownFailed');
  } else if (!hasReportedError(agent)) {
    changeState(agent, 'Exited');
  }
  if (!expected) {
    // Lambda: any exit before SHUTDOWN is a crash, even with code 0.
    const how = signal !== null ? `signal ${signal}` : `exit code ${code ?? 'unknown'}`;
    environment.addVerdict({
      kind: 'crash',
      errorType: 'Extension.Crash',
      extension: agent.name,
      message: `the process exited (${how}) before SHUTDOWN; an extension must keep calling event/next until it receives SHUTDOWN`,
    });
  }
  environment.changed();
}

import { hasReportedError, type Agent } from '../environment/agents.js';
import type { Environment } from '../environment/index.js';
import { defaults } from '../environment/settings.js';
import { milliseconds } from '../platform-events.js';
import type { ExtensionProcesses } from '../processes/extension-processes.js';
import type { TelemetrySubscriber } from '../telemetry/index.js';
import type { ShutdownExtensionResult, ShutdownReason, ShutdownResult } from '../types.js';
import { stopRuntime } from './runtime.js';

/**
 * The Shutdown phase (RIE's rapid/shutdown.go): buffered telemetry goes
 * out, SHUTDOWN goes to the external extensions that subscribed to it, and
 * everything still running at the deadline is SIGKILLed. Extensions that
 * did not subscribe to SHUTDOWN are SIGKILLed at once, as RIE does: they
 * cannot know the phase has started. Each extension gets its whole budget
 * from the moment SHUTDOWN is sent, and its exit time is measured from then.
 */

interface Budget {
  /** Before CPU emulation's factor. */
  baseMs: number;
  ms: number;
  interrupted: boolean;
}

function budgetFor(environment: Environment, live: Agent[]): Budget {
  const hasInternal = environment.agents.some((agent) => agent.kind === 'internal' && agent.id !== undefined);
  const baseMs =
    live.length > 0 ? environment.settings.shutdownBudgetMs : hasInternal ? defaults.internalShutdownBudgetMs : 0;
  const fullMs = baseMs * environment.settings.limitFactor;
  // After Ctrl-C the user is waiting: extensions still get SHUTDOWN, with a short budget, and one
  // that overruns it is killed without a verdict (its budget was ours to cut, not Lambda's).
  const interrupted = environment.interrupted();
  const ms = interrupted ? Math.min(fullMs, defaults.interruptedShutdownBudgetMs) : fullMs;
  return { baseMs, ms, interrupted };
}

/**
 * Lambda delivers the last telemetry batch during Shutdown. A subscriber drains when it sees
 * SHUTDOWN, so a healthy listener gets the batch first; a listener that is down gets a short
 * grace only, then delivery goes on while the extensions shut down, never eating their budget.
 */
async function flushBeforeShutdown(
  environment: Environment,
  subscribers: readonly TelemetrySubscriber[],
  start: number,
  budgetMs: number,
): Promise<void> {
  if (budgetMs <= 0 || subscribers.length === 0) return;
  const delivered = await environment.hub.flush(start + Math.min(defaults.preShutdownFlushMs, budgetMs));
  if (delivered) return;
  for (const subscriber of subscribers.filter((candidate) => candidate.pendingRecords > 0)) {
    environment.record(
      'telemetry',
      `TELEMETRY ${subscriber.extension}: ${subscriber.pendingRecords} record(s) not accepted by ${subscriber.request.uri} ` +
        `within ${Date.now() - start} ms; SHUTDOWN sent anyway, delivery goes on during Shutdown`,
      { extension: subscriber.extension },
    );
  }
}

function sendShutdown(
  environment: Environment,
  processes: ExtensionProcesses,
  live: Agent[],
  reason: ShutdownReason,
  deadline: number,
): void {
  for (const agent of live) {
    const subscribed = agent.id !== undefined && agent.events.includes('SHUTDOWN');
    if (subscribed && hasReportedError(agent)) {
      // As RIE (rapid/shutdown.go): no event for it (its next calls are refused), but it has
      // until the deadline to exit, and is SIGKILLed then.
      continue;
    } else if (subscribed) {
      environment.deliver(agent, { eventType: 'SHUTDOWN', shutdownReason: reason, deadlineMs: deadline });
    } else {
      processes.kill(agent, 'not-subscribed');
    }
  }
  for (const agent of environment.agents.filter((candidate) => candidate.kind === 'internal'))
    environment.releasePending(agent);
}

async function killStragglers(
  environment: Environment,
  processes: ExtensionProcesses,
  live: Agent[],
  reason: ShutdownReason,
  budget: Budget,
): Promise<void> {
  const stragglers = live.filter((agent) => !agent.exited);
  for (const agent of stragglers) {
    processes.kill(agent, 'deadline');
    // One that reported init/error or exit/error has its verdict already; RIE records no ShutdownFailed for it.
    if (budget.interrupted || hasReportedError(agent)) continue;
    const limit = environment.describeLimit(budget.baseMs);
    environment.addVerdict({
      kind: 'shutdown-timeout',
      errorType: 'Extension.ShutdownFailed',
      extension: agent.name,
      message:
        agent.lostEvents?.includes('SHUTDOWN') === true
          ? `never received SHUTDOWN: a client timeout on event/next dropped the call Lambda wrote it into, so it was lost (event/next must have no client timeout); SIGKILLed at the Shutdown deadline (${limit})`
          : `still running at the Shutdown deadline (${limit} after SHUTDOWN ${reason}); SIGKILLed`,
    });
  }
  if (stragglers.length > 0) {
    await environment.waitUntil(() => stragglers.every((agent) => agent.exited), Date.now() + 1000);
  }
}

/** How each external extension ended, with a timeline line for those that were still running. */
function extensionResults(
  environment: Environment,
  live: Agent[],
  shutdownSentAt: number,
  budgetMs: number,
): ShutdownExtensionResult[] {
  const extensions: ShutdownExtensionResult[] = [];
  for (const agent of environment.agents.filter((candidate) => candidate.kind === 'external')) {
    const wasLive = live.includes(agent);
    const outcome: ShutdownExtensionResult['outcome'] = !wasLive
      ? 'already-exited'
      : agent.killedBy === 'deadline'
        ? 'killed-at-deadline'
        : agent.killedBy === 'not-subscribed'
          ? 'killed'
          : 'exited';
    const exitMs = wasLive && agent.exitedAt !== undefined ? Math.max(0, agent.exitedAt - shutdownSentAt) : undefined;
    extensions.push({
      name: agent.name,
      outcome,
      ...(exitMs === undefined ? {} : { exitMs }),
      exitCode: agent.exitCode ?? null,
      signal: agent.signal ?? null,
    });
    if (!wasLive) continue;
    const how =
      outcome === 'exited'
        ? `exited ${milliseconds(exitMs ?? 0)} ms after SHUTDOWN (${agent.signal ? `signal ${agent.signal}` : `code ${agent.exitCode}`})`
        : outcome === 'killed'
          ? `SIGKILLed at once: ${agent.id === undefined ? 'never registered' : hasReportedError(agent) ? `in state ${agent.state}` : 'not subscribed to SHUTDOWN'}`
          : `SIGKILLed at the deadline, ${milliseconds(exitMs ?? budgetMs)} ms after SHUTDOWN`;
    environment.record('shutdown-extension', `SHUTDOWN Name: ${agent.name} ${how}`, {
      extension: agent.name,
      data: { outcome, exitMs },
    });
  }
  return extensions;
}

function undeliveredTelemetry(
  environment: Environment,
  subscribers: readonly TelemetrySubscriber[],
  extensions: ShutdownExtensionResult[],
): void {
  for (const subscriber of subscribers.filter((candidate) => candidate.pendingRecords > 0)) {
    const exited = extensions.some((entry) => entry.name === subscriber.extension && entry.outcome === 'exited');
    const listened = subscriber.stats.deliveredBatches > 0;
    // Lines a subscriber logs while it shuts down come after its listener closed: Lambda cannot deliver them either.
    const why =
      exited && listened
        ? `were still queued when ${subscriber.extension} exited (typically its own last log lines, logged after its listener closed; Lambda cannot deliver those either)`
        : `never delivered: ${subscriber.request.uri} did not accept them before Shutdown ended`;
    environment.record(
      'telemetry',
      `TELEMETRY ${subscriber.extension}: ${subscriber.pendingRecords} record(s) ${why}`,
      {
        extension: subscriber.extension,
      },
    );
  }
}

export async function shutdown(
  environment: Environment,
  processes: ExtensionProcesses,
  reason: ShutdownReason = 'spindown',
): Promise<ShutdownResult> {
  const live = environment.liveExternals();
  const last = environment.lastShutdown;
  const runtime = environment.runtime;
  const runtimeRunning = runtime !== undefined && runtime.started && !runtime.exited;
  if (
    !environment.initialized &&
    live.length === 0 &&
    !runtimeRunning &&
    last !== undefined &&
    environment.phase === 'idle'
  )
    return last;
  environment.phase = 'shutdown';
  environment.registrationOpen = false;
  environment.subscriptionsOpen = false;
  const start = Date.now();
  const budget = budgetFor(environment, live);
  const fullMs = budget.baseMs * environment.settings.limitFactor;
  const scaled =
    budget.ms === fullMs && environment.settings.limitFactor !== 1
      ? environment.describeLimit(budget.baseMs)
      : `${budget.ms} ms`;
  environment.record('shutdown', `SHUTDOWN Reason: ${reason} Budget: ${scaled}`, {
    data: { reason, budgetMs: budget.ms },
  });
  // The runtime goes first: SIGTERM and a short grace when external extensions remain, as on Lambda.
  await stopRuntime(environment, processes, live.length > 0);
  const subscribers = environment.hub.subscribers;
  await flushBeforeShutdown(environment, subscribers, start, budget.ms);
  const shutdownSentAt = Date.now();
  const telemetryFlushMs = shutdownSentAt - start;
  const deadline = shutdownSentAt + budget.ms;
  const delivery = budget.ms > 0 ? environment.hub.flush(deadline) : Promise.resolve(true);
  sendShutdown(environment, processes, live, reason, deadline);
  await environment.waitUntil(() => live.every((agent) => agent.exited), deadline);
  await killStragglers(environment, processes, live, reason, budget);
  // With only internal extensions left, nothing can receive telemetry any more once they are released.
  if (live.length === 0) await delivery;
  const extensions = extensionResults(environment, live, shutdownSentAt, budget.ms);
  undeliveredTelemetry(environment, subscribers, extensions);
  const result: ShutdownResult = { reason, durationMs: Date.now() - start, telemetryFlushMs, extensions };
  const flushText =
    subscribers.length > 0 ? ` Telemetry flush before SHUTDOWN: ${milliseconds(telemetryFlushMs)} ms` : '';
  environment.record(
    'shutdown',
    `SHUTDOWN_REPORT Reason: ${reason} Duration: ${milliseconds(result.durationMs)} ms${flushText}`,
    { data: { ...result } },
  );
  environment.hub.close();
  environment.lastShutdown = result;
  environment.initialized = false;
  environment.phase = 'idle';
  return result;
}

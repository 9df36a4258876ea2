import path from 'node:path';
import { emulationEnvironment } from '../cpu-emulation/index.js';
import { changeState, reportedAndRunning, type Agent } from '../environment/agents.js';
import type { Environment } from '../environment/index.js';
import { isFatal } from '../environment/verdicts.js';
import * as platform from '../platform-events.js';
import type { ExtensionProcesses } from '../processes/extension-processes.js';
import { bundlesItsOwnNode, extensionEnvironment, listExtensionFiles } from '../processes/launch.js';
import type { InitResult } from '../types.js';
import { ensureContainment, initRuntime, type RuntimeInitStatus } from './runtime.js';
import { shutdown } from './shutdown.js';

/**
 * The Init phase (RIE's rapid/handlers.go doInit): launch the external
 * extensions, wait for them to register, run the runtime's init (simulated,
 * or the real runtime until its first `next`), close registration, wait for
 * every extension's first event/next.
 */

/**
 * Whether a verdict since `mark` ends Init now. An init/error or exit/error does not
 * while its extension still runs: as in RIE, Init goes on until that process exits or
 * the Init limit, and its later calls are refused (403 InvalidExtensionState).
 */
function initEndedBy(environment: Environment, mark: number, agents: Agent[]): boolean {
  return environment.verdictLog.all
    .slice(mark)
    .some(
      (verdict) =>
        isFatal(verdict.kind) &&
        !(
          (verdict.kind === 'init-error' || verdict.kind === 'exit-error') &&
          agents.some((agent) => agent.name === verdict.extension && reportedAndRunning(agent))
        ),
    );
}

async function launch(
  environment: Environment,
  processes: ExtensionProcesses,
  agent: Agent,
  variables: Record<string, string>,
): Promise<void> {
  const { architecture, cpuEmulation } = environment.settings;
  const error = await processes.start(agent, variables, { architecture, emulation: cpuEmulation });
  if (error === undefined) return;
  changeState(agent, 'LaunchError');
  environment.addVerdict({
    kind: 'launch-error',
    // RIE's LMI mode names an exec refused for permissions PermissionDenied (core/registrations.go
    // MapErrorToAgentInfoErrorType); on demand every exec failure is Extension.LaunchError.
    errorType:
      environment.settings.managedInstances && /: permission denied/u.test(error)
        ? 'PermissionDenied'
        : 'Extension.LaunchError',
    extension: agent.name,
    message: error,
  });
}

/** Lists and starts the layer's extensions, in parallel as Lambda does. */
async function launchExtensions(environment: Environment, processes: ExtensionProcesses): Promise<Agent[]> {
  const { settings } = environment;
  const files = settings.extensionFiles ?? (await listExtensionFiles(settings.layerDirectory));
  if (files.length === 0) {
    environment.note(`no extensions: ${path.join(settings.layerDirectory, 'extensions')} holds no files`);
  }
  const withoutNode = await bundlesItsOwnNode(settings.layerDirectory, files);
  if (withoutNode) {
    environment.note(
      'standalone layer: its extensions get a PATH without node, as beside a Python, Java or provided.al2023 function',
    );
  }
  const variables = extensionEnvironment({
    withoutNode,
    layerDirectory: settings.layerDirectory,
    runtimeApi: environment.runtimeApi,
    functionName: settings.functionName,
    memorySizeMB: settings.memorySizeMB,
    region: settings.region,
    functionEnv: settings.env,
    maxConcurrency: settings.managedInstances ? settings.maxConcurrency : undefined,
  });
  Object.assign(variables, emulationEnvironment(settings.cpuEmulation));
  if (files.length > 0) ensureContainment(environment, processes);
  const agents = files.map((file) => environment.addExternal(file.name, file.file));
  await Promise.all(agents.map((agent) => launch(environment, processes, agent, variables)));
  return agents;
}

function initTimeoutVerdicts(environment: Environment, agents: Agent[]): void {
  const limit = environment.describeLimit(environment.settings.initTimeoutMs);
  const internals = environment.agents.filter((agent) => agent.kind === 'internal');
  for (const agent of agents) {
    if (agent.state === 'Started' && !agent.exited) {
      const mismatch = internals.length > 0;
      environment.addVerdict({
        kind: mismatch ? 'name-mismatch' : 'never-registered',
        errorType: 'Sandbox.Timedout',
        extension: agent.name,
        message: mismatch
          ? `extensions/${agent.name} never registered within the ${limit} Init limit, while ${internals
              .map((internal) => `"${internal.name}"`)
              .join(
                ', ',
              )} registered under a name that matches no file; register with Lambda-Extension-Name: ${agent.name}`
          : `extensions/${agent.name} never called /extension/register within the ${limit} Init limit`,
      });
    }
  }
  for (const agent of environment.registeredAgents()) {
    if (agent.state === 'Registered' && !agent.exited) {
      environment.addVerdict({
        kind: 'init-timeout',
        errorType: 'Sandbox.Timedout',
        extension: agent.name,
        message: `registered but did not call event/next within the ${limit} Init limit`,
      });
    }
  }
}

interface Waited {
  runtimeDone: boolean;
  settled: boolean;
  /** With a real runtime: how its Init ended. */
  runtimeStatus?: RuntimeInitStatus | undefined;
}

/** The simulated runtime's init: it takes initDurationMs; true when it ended in time. */
async function simulateRuntimeInit(environment: Environment, mark: number, deadline: number): Promise<boolean> {
  const runtimeInitMs = environment.settings.function.initDurationMs ?? 0;
  if (runtimeInitMs > 0 && !environment.failedSince(mark)) {
    await environment.waitUntil(
      () => environment.failedSince(mark),
      Math.min(deadline, Date.now() + runtimeInitMs),
      true,
    );
  }
  if (!environment.failedSince(mark) && Date.now() < deadline && !environment.interrupted()) {
    platform.initRuntimeDone(environment, 'success');
    return true;
  }
  return false;
}

/** The waits of Init: registration, the runtime's init, then every extension's first event/next. */
async function awaitExtensions(
  environment: Environment,
  processes: ExtensionProcesses,
  agents: Agent[],
  mark: number,
  deadline: number,
): Promise<Waited> {
  await environment.waitUntil(
    () => initEndedBy(environment, mark, agents) || agents.every((agent) => agent.state !== 'Started' || agent.exited),
    deadline,
    true,
  );
  // Runtime init, then registration closes. A real runtime publishes its own initRuntimeDone, whatever came of it.
  const runtimeStatus =
    environment.runtime === undefined ? undefined : await initRuntime(environment, processes, mark, deadline);
  const runtimeDone = runtimeStatus === undefined ? await simulateRuntimeInit(environment, mark, deadline) : true;
  environment.registrationOpen = false;
  // A runtime that failed ends Init at once (RIE cancels the init flow); else Init ends when every
  // registered extension has called event/next.
  const settled =
    runtimeStatus !== undefined && runtimeStatus !== 'success'
      ? false
      : await environment.waitUntil(
          () =>
            initEndedBy(environment, mark, agents) ||
            (agents.every((agent) => agent.state !== 'Started' || agent.exited) &&
              environment.registeredAgents().every((agent) => agent.state !== 'Registered' || agent.exited) &&
              !agents.some(reportedAndRunning)),
          deadline,
          true,
        );
  return { runtimeDone, settled, runtimeStatus };
}

/** What Init came to, with its verdicts for what timed out. */
function initOutcome(environment: Environment, agents: Agent[], mark: number, deadline: number, waited: Waited) {
  const interrupted = !waited.settled && environment.interrupted() && Date.now() < deadline;
  const timedOut = !environment.failedSince(mark) && !interrupted && Date.now() >= deadline;
  if (timedOut) initTimeoutVerdicts(environment, agents);
  const stillReporting = agents.filter(reportedAndRunning);
  if (!environment.settings.managedInstances && !waited.settled && !interrupted) {
    // On demand, RIE resets such an Init for its timeout (its LMI mode for the reported error only).
    for (const agent of stillReporting) {
      environment.addVerdict({
        kind: 'init-timeout',
        errorType: 'Sandbox.Timedout',
        extension: agent.name,
        message: `reported ${agent.state === 'InitError' ? 'init/error' : 'exit/error'} but kept running until the ${environment.describeLimit(environment.settings.initTimeoutMs)} Init limit; Lambda waits for it to exit`,
      });
    }
  }
  if (!waited.runtimeDone) {
    platform.initRuntimeDone(environment, timedOut ? 'timeout' : interrupted ? 'error' : 'failure');
  }
  return { interrupted, timedOut };
}

/** The Init phase of a new execution environment; a failed one is shut down (Lambda resets it). */
export async function init(environment: Environment, processes: ExtensionProcesses): Promise<InitResult> {
  if (environment.closed) throw new Error('the emulator is closed');
  const previous = environment.inits.at(-1);
  environment.initPhase =
    previous !== undefined && previous.status !== 'success' && previous.status !== 'interrupted' ? 'invoke' : 'init';
  environment.renew();
  environment.phase = 'init';
  environment.registrationOpen = true;
  environment.subscriptionsOpen = true;
  const mark = environment.verdictLog.mark;
  const initStart = Date.now();
  const deadline = initStart + environment.settings.initTimeoutMs * environment.settings.limitFactor;
  platform.initStarted(environment);
  const agents = await launchExtensions(environment, processes);
  const waited = await awaitExtensions(environment, processes, agents, mark, deadline);
  environment.subscriptionsOpen = false;
  environment.hub.endHistory();
  const { interrupted, timedOut } = initOutcome(environment, agents, mark, deadline, waited);
  const durationMs = Date.now() - initStart;
  // Any verdict fails Init, even one that did not end it early (a refused registration): the
  // environment is not one Lambda would invoke.
  const status: InitResult['status'] = interrupted
    ? 'interrupted'
    : timedOut
      ? 'timeout'
      : environment.verdictLog.since(mark) || (waited.runtimeStatus ?? 'success') !== 'success'
        ? 'error'
        : 'success';
  // The runtime's own failure is the function's error, not a verdict: named only when no extension failed.
  const runtimeErrorType =
    status !== 'success' && status !== 'interrupted' && !environment.verdictLog.since(mark)
      ? environment.runtime?.initError?.errorType
      : undefined;
  for (const agent of environment.agents) platform.extensionState(environment, agent);
  const result: InitResult = {
    status,
    durationMs,
    ...(runtimeErrorType === undefined ? {} : { errorType: runtimeErrorType }),
  };
  platform.initReported(environment, result);
  environment.inits.push(result);
  environment.phase = 'idle';
  if (status === 'success') {
    environment.initialized = true;
    environment.initDurationForNextReport = durationMs;
  } else {
    // Lambda resets the environment after a failed Init; an interrupted one simply shuts down.
    const reason = status === 'timeout' ? 'timeout' : status === 'interrupted' ? 'spindown' : 'failure';
    await shutdown(environment, processes, reason);
  }
  return result;
}

/** Runs Init, or joins the one under way: concurrent invokes on Managed Instances must share it. */
export function initOnce(environment: Environment, processes: ExtensionProcesses): Promise<InitResult> {
  environment.initInProgress ??= init(environment, processes).finally(() => {
    environment.initInProgress = undefined;
  });
  return environment.initInProgress;
}

import type { EmulatorReport, ExtensionReport } from '../types.js';
import type { Environment } from './index.js';

/** The run's report: everything the environment holds, as `ext dev --json` prints it. */
export function environmentReport(environment: Environment): EmulatorReport {
  const { settings, verdictLog } = environment;
  const agents = [...environment.retiredAgents, ...environment.agents];
  const extensions: ExtensionReport[] = agents.map((agent) => ({
    name: agent.name,
    environment: agent.environment,
    kind: agent.kind,
    ...(agent.file === undefined ? {} : { file: agent.file }),
    state: agent.state,
    events: [...agent.events],
    ...(agent.pid === undefined ? {} : { pid: agent.pid }),
    ...(agent.exited ? { exitCode: agent.exitCode ?? null, signal: agent.signal ?? null } : {}),
    ...(agent.reportedErrorType === undefined ? {} : { reportedErrorType: agent.reportedErrorType }),
    verdicts: verdictLog.of(agent.name),
  }));
  const failed = verdictLog.all.length > 0;
  const interrupted = environment.interrupted();
  return {
    status: failed ? 'failed' : interrupted ? 'interrupted' : 'passed',
    exitCode: interrupted ? 130 : failed ? 1 : 0,
    interrupted,
    layerDirectory: settings.layerDirectory,
    runtimeApi: environment.runtimeApi,
    functionName: settings.functionName,
    memorySizeMB: settings.memorySizeMB,
    ...(settings.cpuEmulation === undefined ? {} : { cpuEmulation: { ...settings.cpuEmulation } }),
    ...(settings.node === undefined ? {} : { node: { ...settings.node } }),
    ...(settings.runtime === undefined
      ? {}
      : {
          runtime: {
            command: settings.runtime.command,
            args: [...settings.runtime.args],
            cwd: settings.runtime.cwd,
            description: settings.runtime.description,
          },
        }),
    computeMode: settings.managedInstances ? 'managed-instances' : 'on-demand',
    maxConcurrency: settings.maxConcurrency,
    maxInFlight: environment.maxInFlight,
    ...(environment.containment === undefined ? {} : { containment: { ...environment.containment } }),
    ...(environment.freezes === 0 ? {} : { freeze: { minimumMs: settings.freezeMs ?? 0, gaps: environment.freezes } }),
    inits: [...environment.inits],
    // In the order they started (the events' order), whatever order concurrent ones ended in.
    invokes: [...environment.invokes].sort(
      (a, b) => (environment.invokeOrder.get(a.requestId) ?? 0) - (environment.invokeOrder.get(b.requestId) ?? 0),
    ),
    ...(environment.lastShutdown === undefined ? {} : { shutdown: environment.lastShutdown }),
    extensions,
    verdicts: [...verdictLog.all],
    telemetry: {
      subscriptions: environment.allSubscribers.map((subscriber) => subscriber.report()),
      logsApiCalls: environment.logsApiCalls,
    },
    output: environment.recorder.outputReport(),
    timeline: environment.recorder.entries(),
  };
}

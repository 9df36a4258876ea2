import { randomUUID } from 'node:crypto';
import { emulationNote } from './cpu-emulation/index.js';
import type { Agent } from './environment/agents.js';
import type { Environment } from './environment/index.js';
import { emulatorAccountId } from './environment/settings.js';
import type { TelemetryRequest } from './telemetry/index.js';
import { cutLineMarker } from './output.js';
import type { FunctionResponse, InitResult, InvokeResult, NodeRuntime } from './types.js';

/**
 * Lambda's platform events, each written once: the timeline line a user
 * reads (INIT_START, START, REPORT…) and the `platform.*` Telemetry API
 * record an extension receives come from the same call, with the
 * differences of Managed Instances decided here and nowhere else.
 */

export const milliseconds = (value: number): string => value.toFixed(2);

export interface Tracing {
  type: string;
  value: string;
}

export interface Span {
  name: string;
  start: string;
  durationMs: number;
}

/** The timeline's line saying which node runs the TypeScript extensions, and why that one. */
export function nodeNote(node: NodeRuntime): string {
  const architecture = node.architecture === undefined ? '' : ` ${node.architecture}`;
  const why =
    node.source === 'option'
      ? `--node ${node.path}`
      : node.source === 'bundled'
        ? `bundled in the standalone layer ("nodeVersion" ${node.requested ?? ''})`
        : `the project's runtime ("nodeVersion" ${node.requested ?? ''}, as on nodejs${(node.requested ?? '').split('.')[0]}.x), from npm's cache at ${node.path}`;
  return `NODE v${node.version}${architecture} runs the extensions: ${why}`;
}

export function telemetrySubscribed(environment: Environment, agent: Agent, request: TelemetryRequest): void {
  environment.record(
    'telemetry',
    `TELEMETRY Name: ${agent.name} State: Subscribed Types: [${request.types.join(', ')}] URI: ${request.uri}`,
    {
      extension: agent.name,
      data: {
        types: request.types,
        buffering: request.buffering,
        uri: request.uri,
        schemaVersion: request.schemaVersion,
      },
    },
  );
  environment.hub.publish('platform.telemetrySubscription', {
    name: agent.name,
    state: 'Subscribed',
    types: request.types,
  });
}

/** INIT_START, with the first environment's notes on CPU emulation and node. */
export function initStarted(environment: Environment): void {
  const { settings, environmentNumber } = environment;
  environment.record('init-start', 'INIT_START Runtime Version: emulated (ext dev)', {
    data: { environment: environmentNumber },
  });
  if (settings.cpuEmulation !== undefined && environmentNumber === 1) {
    environment.record('note', emulationNote(settings.cpuEmulation), { data: { ...settings.cpuEmulation } });
  }
  if (settings.node !== undefined && environmentNumber === 1) {
    environment.record('note', nodeNote(settings.node), { data: { ...settings.node } });
  }
  environment.hub.publish('platform.initStart', {
    initializationType: environment.initializationType,
    phase: environment.initPhase,
    ...(settings.managedInstances ? managedInstanceOf(environment) : {}),
  });
}

/**
 * What RIE's LMI mode adds to platform.initStart (lambda-managed-instances/telemetry/events.go): the function, and
 * the instance (its log stream name, its memory in bytes); no runtime version under an emulator.
 */
function managedInstanceOf(environment: Environment): Record<string, unknown> {
  const { functionName, memorySizeMB } = environment.settings;
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  return {
    runtimeVersion: '',
    runtimeVersionArn: '',
    functionName,
    functionVersion: '$LATEST',
    instanceId: `${day}/[$LATEST]${randomUUID().replaceAll('-', '')}`,
    instanceMaxMemory: memorySizeMB * 1024 * 1024,
  };
}

/** The runtime's part of Init is over; the timeline shows it in INIT_REPORT only. */
export function initRuntimeDone(environment: Environment, status: 'success' | 'timeout' | 'error' | 'failure'): void {
  environment.hub.publish('platform.initRuntimeDone', {
    initializationType: environment.initializationType,
    phase: environment.initPhase,
    status,
  });
}

/** One extension's state at the end of Init. */
export function extensionState(environment: Environment, agent: Agent): void {
  const events = `[${agent.events.join(', ')}]`;
  const errorType =
    agent.state === 'LaunchError'
      ? ` Error Type: ${environment.verdictLog.of(agent.name).find((verdict) => verdict.kind === 'launch-error')?.errorType ?? 'Extension.LaunchError'}`
      : agent.reportedErrorType
        ? ` Error Type: ${agent.reportedErrorType}`
        : '';
  environment.record('extension', `EXTENSION Name: ${agent.name} State: ${agent.state} Events: ${events}${errorType}`, {
    extension: agent.name,
    data: { state: agent.state, events: agent.events, kind: agent.kind },
  });
  environment.hub.publish('platform.extension', { name: agent.name, state: agent.state, events: agent.events });
}

export function initReported(environment: Environment, result: InitResult): void {
  const { durationMs, status, errorType } = result;
  const errorText = errorType === undefined ? '' : ` Error Type: ${errorType}`;
  environment.record(
    'init-report',
    `INIT_REPORT Init Duration: ${milliseconds(durationMs)} ms Phase: ${environment.initPhase} Status: ${status}${errorText}`,
    { data: { durationMs, status, ...(errorType === undefined ? {} : { errorType }) } },
  );
  environment.hub.publish('platform.initReport', {
    initializationType: environment.initializationType,
    phase: environment.initPhase,
    status: status === 'error' ? 'failure' : status,
    metrics: { durationMs },
  });
}

/** START; on Managed Instances it says how many invokes share the environment at that moment. */
export function invokeStarted(
  environment: Environment,
  requestId: string,
  inFlightAtStart: number,
  tracing: Tracing,
): void {
  const { managedInstances, maxConcurrency } = environment.settings;
  const concurrencyText = managedInstances ? ` Concurrency: ${inFlightAtStart}/${maxConcurrency}` : '';
  environment.record('start', `START RequestId: ${requestId} Version: $LATEST${concurrencyText}`, {
    requestId,
    ...(managedInstances ? { data: { inFlight: inFlightAtStart, maxConcurrency } } : {}),
  });
  // On Managed Instances platform.start names the function too, as RIE's LMI mode (interop InvokeStartData).
  const { region, functionName } = environment.settings;
  const functionArn = managedInstances
    ? { functionArn: `arn:aws:lambda:${region}:${emulatorAccountId}:function:${functionName}` }
    : {};
  environment.hub.publish('platform.start', {
    requestId,
    ...tenantOf(environment),
    version: '$LATEST',
    ...functionArn,
    tracing,
  });
}

/** A line the simulated function prints. */
export function functionLog(environment: Environment, requestId: string, line: string): void {
  // data.record: the Telemetry record itself, which ext dev --sink matches with what the sink receives.
  environment.record('function-log', `${new Date().toISOString()}\t${requestId}\tINFO\t${line}`, {
    requestId,
    data: { record: line },
  });
  environment.hub.publish('function', line);
}

export function runtimeDone(
  environment: Environment,
  requestId: string,
  status: string,
  durationMs: number,
  tracing: Tracing,
  spans: Span[],
  outcome: { producedBytes?: number | undefined; errorType?: string | undefined } = {},
): void {
  environment.record(
    'runtime-done',
    `RUNTIME_DONE RequestId: ${requestId} Status: ${status} Duration: ${milliseconds(durationMs)} ms`,
    { requestId, data: { status, durationMs } },
  );
  // RIE's LMI mode sends no platform.runtimeDone (its EventsAPI has no such method); platform.report follows.
  if (!environment.settings.managedInstances) {
    environment.hub.publish('platform.runtimeDone', {
      requestId,
      ...tenantOf(environment),
      status,
      ...(outcome.errorType === undefined || status === 'success' ? {} : { errorType: outcome.errorType }),
      metrics: { durationMs, producedBytes: outcome.producedBytes ?? 0 },
      tracing,
      spans,
    });
  }
}

/** END and REPORT; RIE's LMI report carries the response spans that platform.runtimeDone carries on demand. */
export function invokeReported(
  environment: Environment,
  result: InvokeResult,
  postRuntimeExtensionsDurationMs: number,
  tracing: Tracing,
  spans: Span[],
): void {
  const { managedInstances, memorySizeMB } = environment.settings;
  const { requestId, status, durationMs, maxMemoryUsedMB, initDurationMs } = result;
  environment.record('end', `END RequestId: ${requestId}`, { requestId });
  const initText = initDurationMs === undefined ? '' : ` Init Duration: ${milliseconds(initDurationMs)} ms`;
  const errorType = status === 'success' ? undefined : result.response?.errorType;
  const statusText = `${status === 'success' ? '' : ` Status: ${status}`}${errorType === undefined ? '' : ` Error Type: ${errorType}`}`;
  // No extension takes part in an invoke on Managed Instances: PostRuntimeExtensionsDuration does not apply.
  const postRuntimeText = managedInstances
    ? ''
    : ` PostRuntimeExtensionsDuration: ${milliseconds(postRuntimeExtensionsDurationMs)} ms`;
  environment.record(
    'report',
    `REPORT RequestId: ${requestId} Duration: ${milliseconds(durationMs)} ms Billed Duration: ${result.billedDurationMs} ms ` +
      `Memory Size: ${memorySizeMB} MB Max Memory Used: ${maxMemoryUsedMB} MB${initText}${postRuntimeText}${statusText}`,
    { requestId, data: { ...result } },
  );
  environment.hub.publish('platform.report', {
    requestId,
    ...tenantOf(environment),
    status,
    ...(errorType === undefined ? {} : { errorType }),
    // On Managed Instances the record's metrics hold durationMs alone (docs/reference/extensions-api.md, the LMI
    // telemetry shape): billing and memory are per instance there, not per invoke.
    metrics: managedInstances
      ? { durationMs }
      : {
          durationMs,
          billedDurationMs: result.billedDurationMs,
          memorySizeMB,
          maxMemoryUsedMB,
          ...(initDurationMs === undefined ? {} : { initDurationMs }),
        },
    tracing,
    ...(managedInstances ? { spans } : {}),
  });
}

/** `tenantId` right after `requestId`, as RIE writes it, only when the invoke has a tenant. */
function tenantOf(environment: Environment): { tenantId?: string } {
  const { tenantId } = environment.settings;
  return tenantId === undefined ? {} : { tenantId };
}

// ----- a real function runtime ------------------------------------------------

/** The runtime process started (or could not start). */
export function runtimeStarted(environment: Environment, description: string, pid: number | undefined): void {
  environment.record('runtime', `RUNTIME ${description} started (pid ${pid ?? 'unknown'})`, {
    data: { description, pid },
  });
}

/**
 * A line the runtime printed: a `function` telemetry record (with AWS_LAMBDA_LOG_FORMAT=JSON, a line that
 * is a JSON object is the record's object, as Lambda delivers it) and a timeline entry, attributed to the
 * invoke under way when there is exactly one.
 */
export function functionOutput(
  environment: Environment,
  stream: 'stdout' | 'stderr',
  kept: string,
  droppedBytes: number,
): void {
  const line = droppedBytes > 0 ? `${kept}${cutLineMarker(droppedBytes)}` : kept;
  const requestId = environment.runtime?.currentRequestId;
  environment.record('function-log', line, { stream, ...(requestId === undefined ? {} : { requestId }) });
  let record: unknown = line;
  if (
    droppedBytes === 0 &&
    environment.settings.runtime?.env['AWS_LAMBDA_LOG_FORMAT'] === 'JSON' &&
    line.startsWith('{')
  ) {
    try {
      const parsed = JSON.parse(line) as unknown;
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) record = parsed;
    } catch {
      // Not JSON after all: delivered as the text it is.
    }
  }
  environment.hub.publish('function', record);
}

/** Longest part of a response the timeline shows; the report holds all of it. */
const shownResponseLength = 300;

/** What the function answered, shortened for the timeline. */
export function invokeResponse(environment: Environment, requestId: string, response: FunctionResponse): void {
  const bytes = response.bytes ?? Buffer.byteLength(response.payload);
  const payload =
    response.payload.length > shownResponseLength
      ? `${response.payload.slice(0, shownResponseLength)}… (${bytes} bytes)`
      : response.payload;
  const kind = response.kind === 'error' ? ` Error Type: ${response.errorType ?? 'Runtime.Unknown'}` : '';
  environment.record('response', `RESPONSE RequestId: ${requestId}${kind} ${payload}`, {
    requestId,
    data: {
      kind: response.kind,
      bytes,
      ...(response.errorType === undefined ? {} : { errorType: response.errorType }),
    },
  });
}

/** Lambda's line for a function that ran out of time. */
export function taskTimedOut(environment: Environment, requestId: string, timeoutMs: number): void {
  environment.record(
    'function-log',
    `${new Date().toISOString()} ${requestId} Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`,
    { requestId },
  );
}

import path from 'node:path';
import { CliError } from '../../errors.js';
import type { ExtensionFile } from '../../layer/extensions.js';
import { maxManagedInstancesConcurrency } from '../limits.js';
import type {
  CpuEmulation,
  EmulatorOptions,
  FunctionBehaviour,
  InvokeEvent,
  NodeRuntime,
  RuntimeCommand,
  TimelineEntry,
} from '../types.js';

/**
 * A run's settings, resolved once from EmulatorOptions: every default
 * applied, every derived value computed. The rest of the emulator reads
 * these, never the options.
 */

/** A fake account id, returned when an extension asks for the accountId feature. */
export const emulatorAccountId = '123456789012';

export const defaults = {
  functionName: 'ext-dev-function',
  memorySizeMB: 128,
  region: 'us-east-1',
  handler: 'index.handler',
  initTimeoutMs: 10_000,
  shutdownBudgetMs: 2_000,
  internalShutdownBudgetMs: 500,
  /** How long Shutdown waits for buffered telemetry before sending SHUTDOWN anyway. */
  preShutdownFlushMs: 200,
  interruptedShutdownBudgetMs: 500,
  telemetryBufferBytes: 4 * 1024 * 1024,
  durationMs: 50,
  timeoutSeconds: 3,
  /** What a real runtime gets to stop on SIGTERM before SIGKILL, with external extensions (Lambda's 300 ms). */
  runtimeShutdownMs: 300,
  /** The event of an invoke when none is given. */
  event: { payload: '{}' } satisfies InvokeEvent,
};

export interface EmulatorSettings {
  /** Absolute: extensions run with / as their working directory, so a relative path would point nowhere. */
  layerDirectory: string;
  /** The layer's extension files when the caller listed them already; else each Init lists them. */
  extensionFiles: readonly ExtensionFile[] | undefined;
  invokes: number;
  /** A real runtime to run instead of the simulated handler (EmulatorOptions.runtime). */
  runtime: RuntimeCommand | undefined;
  /** The events of the invokes, in order; at least one (`{}` by default). */
  events: InvokeEvent[];
  intervalMs: number;
  /** Set when the environment freezes between invokes (on demand only). */
  freezeMs: number | undefined;
  function: FunctionBehaviour;
  functionName: string;
  memorySizeMB: number;
  region: string;
  handler: string;
  env: Record<string, string>;
  initTimeoutMs: number;
  shutdownBudgetMs: number;
  architecture: 'x86_64' | 'arm64' | undefined;
  cpuEmulation: CpuEmulation | undefined;
  node: NodeRuntime | undefined;
  host: string;
  port: number;
  /** Each subscriber's buffer, and the most of the Init phase's telemetry kept for late subscribers. */
  telemetryBufferBytes: number;
  /** Whether this emulates Lambda Managed Instances (EmulatorOptions.managedInstances). */
  managedInstances: boolean;
  /** Invokes allowed in flight at once: 1 on demand. */
  maxConcurrency: number;
  /** EmulatorOptions.tenantId: the tenant each invoke's platform records name. */
  tenantId: string | undefined;
  /** Limits on what extensions do are multiplied by this: more than 1 under CPU emulation only. */
  limitFactor: number;
  onTimeline: ((entry: TimelineEntry) => void) | undefined;
  onExtensionOutput: ((name: string, stream: 'stdout' | 'stderr', line: string) => void) | undefined;
  signal: AbortSignal | undefined;
}

function requireValidConcurrency(maxConcurrency: number | undefined): void {
  if (maxConcurrency === undefined) return;
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1 || maxConcurrency > maxManagedInstancesConcurrency) {
    throw new CliError(
      `managedInstances.maxConcurrency must be a whole number from 1 to ${maxManagedInstancesConcurrency}, got ${String(maxConcurrency)}`,
      {
        code: 'E_EMULATOR_CONCURRENCY',
        hint: `pass 1 to ${maxManagedInstancesConcurrency} (Lambda's PerExecutionEnvironmentMaxConcurrency)`,
      },
    );
  }
}

/** The most characters a tenant ID may have (Lambda's TenantId parameter). */
const maximumTenantIdLength = 256;

function requireValidTenantId(tenantId: string | undefined): void {
  if (tenantId === undefined) return;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (tenantId.length === 0 || tenantId.length > maximumTenantIdLength || /[\u0000-\u001f\u007f]/u.test(tenantId)) {
    throw new CliError(
      `tenantId (--tenant-id) must be 1 to ${maximumTenantIdLength} characters with no control characters, got ${JSON.stringify(tenantId.slice(0, 80))}`,
      { code: 'E_EMULATOR_TENANT_ID_INVALID', exitCode: 2, hint: 'pass a tenant ID such as --tenant-id tenant-1' },
    );
  }
}

export function resolveSettings(options: EmulatorOptions): EmulatorSettings {
  const managedInstances = options.managedInstances !== undefined;
  requireValidConcurrency(options.managedInstances?.maxConcurrency);
  requireValidTenantId(options.tenantId);
  return {
    layerDirectory: path.resolve(options.layerDirectory),
    extensionFiles: options.extensionFiles,
    invokes: options.invokes ?? (options.runtime !== undefined && options.events?.length ? options.events.length : 1),
    runtime: options.runtime,
    events: options.events?.length ? options.events : [defaults.event],
    intervalMs: options.intervalMs ?? 0,
    freezeMs: managedInstances ? undefined : options.freezeMs,
    function: options.function ?? {},
    functionName: options.functionName ?? defaults.functionName,
    memorySizeMB: options.memorySizeMB ?? defaults.memorySizeMB,
    region: options.region ?? defaults.region,
    handler: options.handler ?? defaults.handler,
    env: options.env ?? {},
    initTimeoutMs: options.initTimeoutMs ?? defaults.initTimeoutMs,
    shutdownBudgetMs: options.shutdownBudgetMs ?? defaults.shutdownBudgetMs,
    architecture: options.architecture,
    cpuEmulation: options.cpuEmulation,
    node: options.node,
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    telemetryBufferBytes: options.telemetryBufferBytes ?? defaults.telemetryBufferBytes,
    managedInstances,
    maxConcurrency: options.managedInstances?.maxConcurrency ?? 1,
    tenantId: options.tenantId,
    limitFactor: options.cpuEmulation?.limitFactor ?? 1,
    onTimeline: options.onTimeline,
    onExtensionOutput: options.onExtensionOutput,
    signal: options.signal,
  };
}

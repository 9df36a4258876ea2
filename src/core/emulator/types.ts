/**
 * Public types of the local Lambda emulator. Everything here is part of the
 * library API (`runEmulator`, `Emulator`), so names follow Lambda's own words.
 */

import type { ExtensionFile } from '../layer/extensions.js';
import type { FunctionResponse, InvokeEvent, RuntimeCommand } from './function-types.js';

export type { FunctionResponse, InvokeEvent, RuntimeCommand } from './function-types.js';

export type ExtensionEventType = 'INVOKE' | 'SHUTDOWN';

/**
 * RIE's state names (internal/lambda/core/agent_state_names.go). `Started`
 * means launched but not registered yet.
 */
export type ExtensionState =
  | 'Started'
  | 'Registered'
  | 'Ready'
  | 'Running'
  | 'InitError'
  | 'ExitError'
  | 'ShutdownFailed'
  | 'Exited'
  | 'LaunchError';

export type ShutdownReason = 'spindown' | 'timeout' | 'failure';

export type Phase = 'init' | 'invoke' | 'shutdown';

/** What the simulated function does on each invoke. */
export interface FunctionBehaviour {
  /** How long the handler runs, in ms. Default 50. */
  durationMs?: number | undefined;
  /** Lines the handler prints; delivered as `function` telemetry records. */
  logLines?: string[] | undefined;
  /** The handler returns an error (runtimeDone status `error`). */
  error?: boolean | undefined;
  /** The function timeout in seconds. Default 3, as in Lambda. */
  timeoutSeconds?: number | undefined;
  /** How long the runtime and function init code take during Init, in ms. Default 0. Internal extensions may register meanwhile. */
  initDurationMs?: number | undefined;
}

/**
 * Lambda Managed Instances (LMI): one execution environment serves several
 * invokes at once. The emulator then behaves as RIE's LMI mode
 * (internal/lambda-managed-instances/ in aws-lambda-runtime-interface-emulator):
 * - extensions see `AWS_LAMBDA_MAX_CONCURRENCY=<maxConcurrency>` and
 *   `AWS_LAMBDA_INITIALIZATION_TYPE=lambda-managed-instances`;
 * - an external extension may register `SHUTDOWN` only (anything else: 403
 *   `Extension.InvalidEventType`), an internal one no event at all, so no
 *   INVOKE event is ever sent and an invoke ends when the function returns
 *   (`postRuntimeExtensionsDurationMs` is always 0);
 * - up to `maxConcurrency` invokes run at once, and their function log lines
 *   interleave in telemetry;
 * - a Telemetry subscription must use `schemaVersion` `2025-01-29` (else 400
 *   `ValidationError`); no `platform.runtimeDone` is sent, `platform.report` is;
 * - the Logs API does not exist: `PUT /2020-08-15/logs` answers 404;
 * - a function timeout ends that invoke only: the environment is not reset,
 *   since other invokes may be in flight. Shutdown is unchanged.
 */
export interface ManagedInstancesOptions {
  /** Invokes in flight at most (Lambda's PerExecutionEnvironmentMaxConcurrency), 1 to 64. */
  maxConcurrency: number;
}

/**
 * The layer is built for another architecture than this machine's and runs
 * under qemu user-mode emulation (see cpu-emulation/index.ts). Durations are
 * then the emulator's, and the limits on what extensions do are multiplied by
 * `limitFactor`.
 */
export interface CpuEmulation {
  /** The function's architecture: what the layer's binaries are built for. */
  architecture: 'x86_64' | 'arm64';
  hostArchitecture: 'x86_64' | 'arm64';
  /** `binfmt`: the kernel starts foreign binaries through its binfmt_misc handler; `qemu`: ext dev starts them through `emulator`. */
  mode: 'binfmt' | 'qemu';
  /** The qemu-user binary, or the binfmt handler's interpreter. */
  emulator: string;
  /** The foreign root filesystem holding the dynamic loader and libraries (qemu -L), when a dynamic program needs it. */
  sysroot?: string | undefined;
  /** The Init limit, extensions' time after an invoke and the Shutdown budget are multiplied by this. */
  limitFactor: number;
}

export interface EmulatorOptions {
  /** The folder that would be mounted at /opt; it holds `extensions/`. */
  layerDirectory: string;
  /** `layerDirectory`'s extension files when the caller has listed them already (listExtensionFiles); else listed once here. */
  extensionFiles?: readonly ExtensionFile[] | undefined;
  /** Number of invokes `runEmulator` performs. Default 1. */
  invokes?: number | undefined;
  /** Pause before each invoke after the first, in ms, once the previous one ended (with `managedInstances`: once fewer than `maxConcurrency` are in flight). Default 0. */
  intervalMs?: number | undefined;
  /** Emulate Lambda Managed Instances instead of on-demand Lambda; see ManagedInstancesOptions. */
  managedInstances?: ManagedInstancesOptions | undefined;
  /**
   * The tenant every invoke is for, as a function with tenant isolation receives it (`X-Amz-Tenant-Id` on the
   * invoke): `platform.start`, `platform.runtimeDone` and `platform.report` then carry it as `tenantId`.
   * 1 to 256 characters, none of them a control character. Default: no tenant.
   */
  tenantId?: string | undefined;
  function?: FunctionBehaviour | undefined;
  /** Run this real function runtime instead of the simulated handler (`function` then sets only its timeout). */
  runtime?: RuntimeCommand | undefined;
  /** The events, one per invoke, in order; with `runtime`, `invokes` defaults to their number. Default: `{}`. */
  events?: InvokeEvent[] | undefined;
  /** Default `ext-dev-function`. */
  functionName?: string | undefined;
  /** Default 128. */
  memorySizeMB?: number | undefined;
  /** Default `us-east-1`. */
  region?: string | undefined;
  /** The function's handler setting, returned by register. Default `index.handler`. */
  handler?: string | undefined;
  /** Function environment variables; extensions see them minus the runtime-only ones (docs/reference/extensions-api.md §4). */
  env?: Record<string, string> | undefined;
  /** The Init phase limit. Default 10,000 ms, as in Lambda. */
  initTimeoutMs?: number | undefined;
  /** The Shutdown budget with external extensions. Default 2,000 ms, as in Lambda. */
  shutdownBudgetMs?: number | undefined;
  /**
   * The function's architecture. Default: this machine's, or `cpuEmulation.architecture`. An extension
   * file built for another one fails with Lambda's exec format error (Extension.LaunchError).
   */
  architecture?: 'x86_64' | 'arm64' | undefined;
  /** Run the layer's foreign binaries under qemu (`ext dev` sets it up with prepareCpuEmulation). */
  cpuEmulation?: CpuEmulation | undefined;
  /** The node that runs the layer's TypeScript extensions, when ext dev knows it: named in the timeline and report. */
  node?: NodeRuntime | undefined;
  /** Where the Extensions API listens. Default 127.0.0.1. */
  host?: string | undefined;
  /** Default 0: a free port. */
  port?: number | undefined;
  /**
   * On demand only: between invokes the environment is frozen as Lambda freezes it (every process of the
   * layer SIGSTOPped, SIGCONTed before the next invoke; telemetry delivery waits), for the pause
   * (`intervalMs`) but at least this long. Default: no freeze (`ext dev` freezes unless --no-freeze).
   */
  freezeMs?: number | undefined;
  /** Bytes a telemetry subscriber may have queued before records are dropped. Default 4 MiB. */
  telemetryBufferBytes?: number | undefined;
  /** Every timeline entry as it happens (Lambda-style lines, extension output, verdicts). */
  onTimeline?: ((entry: TimelineEntry) => void) | undefined;
  /** Each line an extension prints. */
  onExtensionOutput?: ((name: string, stream: 'stdout' | 'stderr', line: string) => void) | undefined;
  /** Stops `runEmulator` early: the current Init or invoke is cut short, then a Shutdown of at most 500 ms runs; the report says `interrupted`. */
  signal?: AbortSignal | undefined;
}

/** Which node ran a TypeScript layer under ext dev, and why that one. */
export interface NodeRuntime {
  /** "22.23.5", or "unknown" for a --node binary that could not say. */
  version: string;
  /** The binary. */
  path: string;
  architecture?: 'x86_64' | 'arm64' | undefined;
  /**
   * `project`: the Node.js major of the project's runtime ("nodeVersion", default 22), fetched from npm;
   * `option`: --node; `bundled`: the node a standalone layer carries.
   */
  source: 'project' | 'option' | 'bundled';
  /** For `project` and `bundled`: the major or version asked for. */
  requested?: string | undefined;
}

export type TimelineKind =
  | 'extension'
  | 'init-start'
  | 'init-report'
  | 'start'
  | 'function-log'
  | 'runtime'
  | 'response'
  | 'runtime-done'
  | 'end'
  | 'report'
  | 'shutdown'
  | 'shutdown-extension'
  | 'telemetry'
  | 'verdict'
  | 'note'
  | 'containment'
  | 'freeze'
  | 'output';

export interface TimelineEntry {
  /** Milliseconds since the emulator started. */
  elapsedMs: number;
  /** ISO-8601 wall-clock time. */
  time: string;
  kind: TimelineKind;
  /** The line as Lambda would log it (or a plain note). */
  text: string;
  /** Extension concerned, when there is one. */
  extension?: string | undefined;
  requestId?: string | undefined;
  stream?: 'stdout' | 'stderr' | undefined;
  /** Structured details (durations, states, verdict). */
  data?: Record<string, unknown> | undefined;
}

export type VerdictKind =
  | 'launch-error'
  | 'never-registered'
  | 'name-mismatch'
  | 'invalid-event-type'
  | 'registration-refused'
  | 'init-error'
  | 'exit-error'
  | 'crash'
  | 'init-timeout'
  | 'invoke-timeout'
  | 'shutdown-timeout';

export interface Verdict {
  kind: VerdictKind;
  /** The name Lambda uses: `Extension.LaunchError`, `Extension.Crash`, `Sandbox.Timedout`, … */
  errorType: string;
  extension: string;
  phase: Phase;
  message: string;
  requestId?: string | undefined;
}

export interface InitResult {
  /** `interrupted`: the run's signal aborted before Init finished (Ctrl-C in `ext dev`). */
  status: 'success' | 'error' | 'timeout' | 'interrupted';
  durationMs: number;
  /** With a real runtime: why the runtime's part of Init failed (`Runtime.ExitError`, its init/error type, …). Not a verdict. */
  errorType?: string | undefined;
}

export interface InvokeResult {
  requestId: string;
  /**
   * `success`, `error` (the function returned an error, or the real runtime crashed or failed its Init),
   * `timeout` or `failure` (an extension failed).
   */
  status: 'success' | 'error' | 'timeout' | 'failure' | 'interrupted';
  /** Whole Invoke phase: until the runtime and every extension were done. */
  durationMs: number;
  /** Until the runtime returned its response. */
  runtimeDurationMs: number;
  /** From the runtime's response to the last extension's `next` (Lambda's PostRuntimeExtensionsDuration); always 0 on Managed Instances, where no extension takes part in invokes. */
  postRuntimeExtensionsDurationMs: number;
  billedDurationMs: number;
  maxMemoryUsedMB: number;
  initDurationMs?: number | undefined;
  /** When the invoke started and ended, in ms since the emulator started (the timeline's clock). */
  startMs: number;
  endMs: number;
  /** Invokes in flight when this one started, itself included: always 1 on demand. */
  inFlightAtStart: number;
  /** With a real runtime (EmulatorOptions.runtime): what the function answered. */
  response?: FunctionResponse | undefined;
  /**
   * Set when this invoke reset the environment, as Lambda does after a timeout or a crash: the runtime
   * was stopped, the extensions got SHUTDOWN with this reason, and the next invoke runs a fresh Init.
   */
  environmentReset?: ShutdownReason | undefined;
}

export interface ShutdownExtensionResult {
  name: string;
  /** `exited` after SHUTDOWN, `killed` because it did not subscribe to SHUTDOWN, `killed-at-deadline`, or `already-exited`. */
  outcome: 'exited' | 'killed' | 'killed-at-deadline' | 'already-exited';
  /** Time from SHUTDOWN (or the SIGKILL, for an extension not subscribed to it) to the process exit. */
  exitMs?: number | undefined;
  exitCode?: number | null | undefined;
  signal?: string | null | undefined;
}

export interface ShutdownResult {
  reason: ShutdownReason;
  /** The whole phase: telemetry flush, then the extensions' exits. */
  durationMs: number;
  /** How long buffered telemetry delivery held SHUTDOWN back (at most 200 ms, then delivery continues alongside). */
  telemetryFlushMs: number;
  extensions: ShutdownExtensionResult[];
}

export interface ExtensionReport {
  name: string;
  /** 1 for the first execution environment; a reset (timeout, failure) starts the next one. */
  environment: number;
  kind: 'external' | 'internal';
  /** Path of the launched file, for external extensions. */
  file?: string | undefined;
  state: ExtensionState;
  events: ExtensionEventType[];
  pid?: number | undefined;
  exitCode?: number | null | undefined;
  signal?: string | null | undefined;
  /** Error type reported through init/error or exit/error. */
  reportedErrorType?: string | undefined;
  verdicts: Verdict[];
}

export interface TelemetrySubscriptionReport {
  extension: string;
  api: 'telemetry';
  schemaVersion: string;
  types: string[];
  buffering: { maxItems: number; maxBytes: number; timeoutMs: number };
  destination: string;
  deliveredBatches: number;
  deliveredRecords: number;
  failedAttempts: number;
  droppedRecords: number;
  pendingRecords: number;
}

/**
 * Extension output is kept bounded, whatever an extension prints: each line
 * is cut at `maxLineBytes` (the timeline entry says how much was cut), and
 * the timeline keeps its first and last entries only.
 */
export interface OutputReport {
  /** Lines the extensions printed (stdout and stderr). */
  lines: number;
  /** Bytes they printed, line breaks excluded. */
  bytes: number;
  /** Lines longer than `maxLineBytes`, cut. */
  linesCut: number;
  maxLineBytes: number;
  /** Timeline entries left out between the first and the last ones. */
  timelineEntriesLeftOut: number;
  /** Of those, extension output lines. */
  outputLinesLeftOut: number;
}

export interface ContainmentReport {
  kind: 'cgroup' | 'process-groups';
  /** The cgroup's folder, with `cgroup`. */
  cgroup?: string | undefined;
}

export interface EmulatorReport {
  /** `failed` on any verdict; else `interrupted` when `signal` stopped the run early; else `passed`. */
  status: 'passed' | 'failed' | 'interrupted';
  /** What `ext dev` exits with: 130 when interrupted, 1 on a verdict, else 0. */
  exitCode: number;
  /** `signal` aborted before the run ended (Ctrl-C); the invokes left were skipped, Shutdown ran normally. */
  interrupted: boolean;
  layerDirectory: string;
  runtimeApi: string;
  functionName: string;
  memorySizeMB: number;
  /** Set when the layer ran under CPU emulation: its durations are not Lambda's. */
  cpuEmulation?: CpuEmulation | undefined;
  /** The node that ran the layer's TypeScript extensions, when ext dev knows it. */
  node?: NodeRuntime | undefined;
  /** The real function runtime that ran (EmulatorOptions.runtime), without its environment (it may hold credentials). */
  runtime?: { command: string; args: string[]; cwd: string; description: string } | undefined;
  /** `managed-instances` with EmulatorOptions.managedInstances. */
  computeMode: 'on-demand' | 'managed-instances';
  /** Invokes allowed in flight at once: 1 on demand. */
  maxConcurrency: number;
  /** Invokes that were in flight at once, at most, during the run. */
  maxInFlight: number;
  /**
   * How the run held the layer's processes: `cgroup` (a cgroup v2 of the run: nothing escapes, also if
   * ext dev dies), or `process-groups` (process groups, a run marker and a /proc walk). Absent when no
   * extension was started.
   */
  containment?: ContainmentReport | undefined;
  /** Set when the environment was frozen between invokes (see EmulatorOptions.freezeMs). */
  freeze?: { minimumMs: number | undefined; gaps: number };
  inits: InitResult[];
  /** In the order the invokes started (with `events`, their order), whatever order concurrent ones ended in. */
  invokes: InvokeResult[];
  shutdown?: ShutdownResult | undefined;
  extensions: ExtensionReport[];
  verdicts: Verdict[];
  telemetry: { subscriptions: TelemetrySubscriptionReport[]; logsApiCalls: number };
  /** What the extensions printed, and what of it the report does not hold. */
  output: OutputReport;
  /** The first and last entries of the run; a `note` entry marks where entries were left out (see `output`). */
  timeline: TimelineEntry[];
}

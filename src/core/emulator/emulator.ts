import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { CliError } from '../errors.js';
import { ExtensionsApi, type Agent, type ApiHost } from './extensions-api.js';
import { emulationEnvironment, emulationNote } from './cpu-emulation/index.js';
import { bundlesItsOwnNode, extensionEnvironment, listExtensionFiles, peakMemoryMB } from './launch.js';
import { ExtensionProcesses } from './extension-processes.js';
import { RunRecorder, type EntryDetails } from './output.js';
import { TelemetryHub, TelemetrySubscriber, type TelemetryRequest } from './telemetry.js';
import type {
  ContainmentReport,
  EmulatorOptions,
  EmulatorReport,
  ExtensionReport,
  FunctionBehaviour,
  InitResult,
  InvokeResult,
  NodeRuntime,
  Phase,
  ShutdownExtensionResult,
  ShutdownReason,
  ShutdownResult,
  TimelineEntry,
  TimelineKind,
  Verdict,
} from './types.js';
import { isFatal, maxNonFatalVerdicts, VerdictLog } from './verdicts.js';
import { maxManagedInstancesConcurrency } from './limits.js';

/** A fake account id, returned when an extension asks for the accountId feature. */
export const emulatorAccountId = '123456789012';

const defaults = {
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
};

function requireValidConcurrency(options: EmulatorOptions): void {
  const maxConcurrency = options.managedInstances?.maxConcurrency;
  if (maxConcurrency === undefined) return;
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1 || maxConcurrency > maxManagedInstancesConcurrency) {
    throw new CliError(
      `managedInstances.maxConcurrency must be a whole number from 1 to ${maxManagedInstancesConcurrency}, got ${String(maxConcurrency)}`,
      { hint: `pass 1 to ${maxManagedInstancesConcurrency} (Lambda's PerExecutionEnvironmentMaxConcurrency)` },
    );
  }
}

const milliseconds = (value: number): string => value.toFixed(2);

function traceHeader(): string {
  const epoch = Math.floor(Date.now() / 1000)
    .toString(16)
    .padStart(8, '0');
  return `Root=1-${epoch}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=1`;
}

/**
 * One emulated Lambda execution environment, as seen by extensions. Drive
 * it step by step (`start`, `invoke`, `shutdown`, `close`) or use
 * `runEmulator` for a whole lifecycle. Events: `timeline` (TimelineEntry),
 * `verdict` (Verdict), `output` (name, stream, line).
 */
export class Emulator extends EventEmitter {
  readonly options: EmulatorOptions;
  private readonly api: ExtensionsApi;
  private hub = new TelemetryHub(defaults.telemetryBufferBytes);
  private readonly allSubscribers: TelemetrySubscriber[] = [];
  private port = 0;
  private phase: Phase | 'idle' = 'idle';
  private registrationOpen = false;
  private subscriptionsOpen = false;
  private readonly waiters = new Set<() => void>();
  private readonly verdictLog = new VerdictLog();
  private readonly recorder = new RunRecorder((entry) => {
    this.options.onTimeline?.(entry);
    this.emit('timeline', entry);
  });
  private readonly processes: ExtensionProcesses;
  private readonly inits: InitResult[] = [];
  private readonly invokes: InvokeResult[] = [];
  private readonly retiredAgents: Agent[] = [];
  private lastShutdown: ShutdownResult | undefined;
  private environmentNumber = 0;
  /** The current environment finished Init and has not been reset since. */
  private initialized = false;
  private initDurationForNextReport: number | undefined;
  /** The Init under way, shared by the invokes that wait for it (several, on Managed Instances). */
  private initInProgress: Promise<InitResult> | undefined;
  private inFlight = 0;
  /** Why the environment resets once the invokes in flight have ended. */
  private resetReason: ShutdownReason | undefined;
  private maxInFlight = 0;
  private listening = false;
  private closed = false;
  private containment: ContainmentReport | undefined;
  private freezes = 0;

  constructor(options: EmulatorOptions) {
    super();
    requireValidConcurrency(options);
    // Extensions run with / as their working directory, so a relative layer path would point nowhere.
    this.options = { ...options, layerDirectory: path.resolve(options.layerDirectory) };
    this.processes = new ExtensionProcesses(
      {
        output: (agent, stream, line, droppedBytes) => this.extensionOutput(agent, stream, line, droppedBytes),
        exited: (agent, code, signal) => this.processExited(agent, code, signal),
      },
      options.cpuEmulation,
      options.architecture,
    );
    const host: ApiHost = {
      phase: () => this.phase,
      registrationOpen: () => this.registrationOpen,
      subscriptionsOpen: () => this.subscriptionsOpen,
      changed: () => this.changed(),
      verdict: (verdict) => this.addVerdict(verdict),
      note: (text, extension) => this.record('note', text, { extension }),
      subscribeTelemetry: (agent, request) => this.subscribeTelemetry(agent, request),
      managedInstances: () => this.managedInstances,
      logsApiCalled: (agent) =>
        this.record(
          'note',
          this.managedInstances
            ? `${agent.name} called the Logs API: answered 404, Managed Instances have no Logs API; use the Telemetry API`
            : `${agent.name} subscribed to the Logs API: answered 202 (local environment), nothing will be delivered; use the Telemetry API`,
          { extension: agent.name },
        ),
      functionMetadata: () => ({
        functionName: this.functionName,
        functionVersion: '$LATEST',
        handler: options.handler ?? defaults.handler,
        accountId: emulatorAccountId,
      }),
      reservedPorts: () => [this.port],
      environment: () => this.environmentNumber,
    };
    this.api = new ExtensionsApi(host);
  }

  get functionName(): string {
    return this.options.functionName ?? defaults.functionName;
  }

  get memorySizeMB(): number {
    return this.options.memorySizeMB ?? defaults.memorySizeMB;
  }

  /** Each subscriber's buffer, and the most of the Init phase's telemetry kept for late subscribers. */
  private get telemetryBufferBytes(): number {
    return this.options.telemetryBufferBytes ?? defaults.telemetryBufferBytes;
  }

  /** Limits on what extensions do are multiplied by this: more than 1 under CPU emulation only. */
  private get limitFactor(): number {
    return this.options.cpuEmulation?.limitFactor ?? 1;
  }

  /** `10000 ms`, or `100000 ms (10000 ms ×10 under emulation)`: a verdict names the limit it applied. */
  private describeLimit(baseMs: number): string {
    const factor = this.limitFactor;
    return factor === 1 ? `${baseMs} ms` : `${baseMs * factor} ms (${baseMs} ms ×${factor} under CPU emulation)`;
  }

  /** Whether this emulates Lambda Managed Instances (EmulatorOptions.managedInstances). */
  get managedInstances(): boolean {
    return this.options.managedInstances !== undefined;
  }

  /** Invokes allowed in flight at once: 1 on demand. */
  get maxConcurrency(): number {
    return this.options.managedInstances?.maxConcurrency ?? 1;
  }

  /** Lambda's initializationType in platform.init* records, and RIE's for LMI (interop/model.go). */
  private get initializationType(): string {
    return this.managedInstances ? 'lambda-managed-instances' : 'on-demand';
  }

  /** `127.0.0.1:<port>`, the value of AWS_LAMBDA_RUNTIME_API. Valid after `listen()` or `start()`. */
  get runtimeApi(): string {
    return `${this.options.host ?? '127.0.0.1'}:${this.port}`;
  }

  /** The first and last entries of the run, with a note where entries were left out (see BoundedTimeline). */
  get timeline(): readonly TimelineEntry[] {
    return this.recorder.entries();
  }

  get verdicts(): readonly Verdict[] {
    return this.verdictLog.all;
  }

  /** Extensions of the current (or last) environment. */
  get extensions(): readonly Agent[] {
    return this.api.agents;
  }

  /** Starts the API server without launching anything (for protocol tests that act as an extension). */
  async listen(): Promise<string> {
    if (!this.listening) {
      this.port = await this.api.listen(this.options.host ?? '127.0.0.1', this.options.port ?? 0);
      this.listening = true;
    }
    return this.runtimeApi;
  }

  /** Starts the API and runs the Init phase. */
  async start(): Promise<InitResult> {
    await this.listen();
    return this.init();
  }

  // ----- plumbing ---------------------------------------------------------

  private interrupted(): boolean {
    return this.options.signal?.aborted === true;
  }

  private changed(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  /**
   * Resolves true when the predicate holds, false at the deadline. An
   * interruptible wait (Init, an invoke) also ends when the run's signal
   * aborts: Ctrl-C must not wait out a hung Init or a long function.
   */
  private waitUntil(predicate: () => boolean, deadline: number, interruptible = false): Promise<boolean> {
    // A deadline already reached (a zero-duration handler) needs no timer: setTimeout(0) waits a
    // millisecond or more, which was half of what an invoke costs the emulator.
    if (deadline <= Date.now()) return Promise.resolve(predicate());
    return new Promise((resolve) => {
      const signal = interruptible ? this.options.signal : undefined;
      const finish = (value: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        signal?.removeEventListener('abort', interrupt);
        resolve(value);
      };
      const interrupt = () => finish(predicate());
      const check = () => {
        if (predicate()) finish(true);
      };
      // Timers may fire a hair early by the wall clock; a simulated 300 ms handler must never last 299.
      const expire = (): void => {
        const left = deadline - Date.now();
        if (left > 0) timer = setTimeout(expire, left);
        else finish(predicate());
      };
      let timer = setTimeout(expire, Math.max(0, deadline - Date.now()));
      this.waiters.add(check);
      signal?.addEventListener('abort', interrupt);
      check();
      if (signal?.aborted === true) interrupt();
    });
  }

  private record(kind: TimelineKind, text: string, details: EntryDetails = {}): TimelineEntry {
    return this.recorder.record(kind, text, details);
  }

  private addVerdict(verdict: Omit<Verdict, 'phase'> & { phase?: Phase }): void {
    const full: Verdict = { ...verdict, phase: verdict.phase ?? (this.phase === 'idle' ? 'invoke' : this.phase) };
    const kept = this.verdictLog.add(full, () =>
      this.record(
        'note',
        `more than ${maxNonFatalVerdicts} refused registrations or invalid event types; later ones are not reported`,
      ),
    );
    if (!kept) return;
    this.record('verdict', `VERDICT ${full.extension} ${full.errorType} (${full.kind}): ${full.message}`, {
      extension: full.extension,
      ...(full.requestId === undefined ? {} : { requestId: full.requestId }),
      data: { ...full },
    });
    this.emit('verdict', full);
    this.changed();
  }

  private subscribeTelemetry(agent: Agent, request: TelemetryRequest): void {
    const subscriber = new TelemetrySubscriber(agent.name, request, this.telemetryBufferBytes, (message) =>
      this.record('telemetry', `TELEMETRY ${agent.name}: ${message}`, { extension: agent.name }),
    );
    this.hub.subscribe(subscriber);
    this.allSubscribers.push(subscriber);
    this.record(
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
    this.hub.publish('platform.telemetrySubscription', { name: agent.name, state: 'Subscribed', types: request.types });
  }

  private extensionOutput(agent: Agent, stream: 'stdout' | 'stderr', kept: string, droppedBytes: number): void {
    const line = this.recorder.output(agent.name, stream, kept, droppedBytes);
    this.options.onExtensionOutput?.(agent.name, stream, line);
    this.emit('output', agent.name, stream, line);
    this.hub.publish('extension', line);
  }

  private liveExternals(): Agent[] {
    return this.api.agents.filter((agent) => agent.kind === 'external' && agent.child !== undefined && !agent.exited);
  }

  private registeredAgents(): Agent[] {
    return this.api.agents.filter((agent) => agent.id !== undefined);
  }

  /**
   * Whether a fatal verdict happened since `mark`. A refused registration is
   * reported but does not end the phase by itself: on Lambda the process
   * then usually exits (Crash) or never registers (timeout).
   */
  private failedSince(mark: number): boolean {
    return this.verdictLog.failedSince(mark);
  }

  // ----- Init -------------------------------------------------------------

  /**
   * Whether a verdict since `mark` ends Init now. An init/error or exit/error does not
   * while its extension still runs: as in RIE, Init goes on until that process exits or
   * the Init limit, and its later calls are refused (403 InvalidExtensionState).
   */
  private initEndedBy(mark: number, agents: Agent[]): boolean {
    return this.verdictLog.all
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

  private async launch(agent: Agent, environment: Record<string, string>): Promise<void> {
    const error = await this.processes.start(agent, environment);
    if (error === undefined) return;
    agent.state = 'LaunchError';
    this.addVerdict({
      kind: 'launch-error',
      // RIE's LMI mode names an exec refused for permissions PermissionDenied (core/registrations.go
      // MapErrorToAgentInfoErrorType); on demand every exec failure is Extension.LaunchError.
      errorType:
        this.managedInstances && /: permission denied/u.test(error) ? 'PermissionDenied' : 'Extension.LaunchError',
      extension: agent.name,
      message: error,
    });
  }

  private processExited(agent: Agent, code: number | null, signal: NodeJS.Signals | null): void {
    agent.exited = true;
    agent.exitCode = code;
    agent.signal = signal;
    agent.exitedAt = Date.now();
    this.api.releasePending(agent);
    const expected =
      agent.killedBy !== undefined ||
      this.phase === 'shutdown' ||
      agent.state === 'InitError' ||
      agent.state === 'ExitError';
    if (agent.killedBy === 'deadline') {
      agent.state = 'ShutdownFailed';
    } else if (agent.state !== 'InitError' && agent.state !== 'ExitError') {
      agent.state = 'Exited';
    }
    if (!expected) {
      // Lambda: any exit before SHUTDOWN is a crash, even with code 0.
      const how = signal !== null ? `signal ${signal}` : `exit code ${code ?? 'unknown'}`;
      this.addVerdict({
        kind: 'crash',
        errorType: 'Extension.Crash',
        extension: agent.name,
        message: `the process exited (${how}) before SHUTDOWN; an extension must keep calling event/next until it receives SHUTDOWN`,
      });
    }
    this.changed();
  }

  private kill(agent: Agent, reason: NonNullable<Agent['killedBy']>): void {
    this.processes.kill(agent, reason);
  }

  private async init(): Promise<InitResult> {
    if (this.closed) throw new Error('the emulator is closed');
    this.environmentNumber += 1;
    this.retiredAgents.push(...this.api.agents);
    this.api.agents.length = 0;
    this.hub = new TelemetryHub(this.telemetryBufferBytes);
    this.phase = 'init';
    this.registrationOpen = true;
    this.subscriptionsOpen = true;
    const mark = this.verdictLog.mark;
    const initStart = Date.now();
    const deadline = initStart + (this.options.initTimeoutMs ?? defaults.initTimeoutMs) * this.limitFactor;
    this.record('init-start', 'INIT_START Runtime Version: emulated (ext dev)', {
      data: { environment: this.environmentNumber },
    });
    if (this.options.cpuEmulation !== undefined && this.environmentNumber === 1) {
      this.record('note', emulationNote(this.options.cpuEmulation), { data: { ...this.options.cpuEmulation } });
    }
    if (this.options.node !== undefined && this.environmentNumber === 1) {
      this.record('note', nodeNote(this.options.node), { data: { ...this.options.node } });
    }
    this.hub.publish('platform.initStart', { initializationType: this.initializationType, phase: 'init' });

    const files = this.options.extensionFiles ?? (await listExtensionFiles(this.options.layerDirectory));
    if (files.length === 0) {
      this.record('note', `no extensions: ${path.join(this.options.layerDirectory, 'extensions')} holds no files`);
    }
    const withoutNode = await bundlesItsOwnNode(this.options.layerDirectory, files);
    if (withoutNode) {
      this.record(
        'note',
        'standalone layer: its extensions get a PATH without node, as beside a Python, Java or provided.al2023 function',
      );
    }
    const environment = extensionEnvironment({
      withoutNode,
      layerDirectory: this.options.layerDirectory,
      runtimeApi: this.runtimeApi,
      functionName: this.functionName,
      memorySizeMB: this.memorySizeMB,
      region: this.options.region ?? defaults.region,
      functionEnv: this.options.env ?? {},
      maxConcurrency: this.options.managedInstances?.maxConcurrency,
    });
    Object.assign(environment, emulationEnvironment(this.options.cpuEmulation));
    if (files.length > 0 && this.containment === undefined) {
      const { description, ...containment } = this.processes.prepare();
      this.containment = containment;
      this.record('containment', description, { data: { ...containment } });
    }
    const agents = files.map((file) => this.api.addExternal(file.name, file.file, this.environmentNumber));
    // Lambda starts all external extensions in parallel.
    await Promise.all(agents.map((agent) => this.launch(agent, environment)));

    // Extension init: wait until every launched extension has registered (or failed).
    await this.waitUntil(
      () => this.initEndedBy(mark, agents) || agents.every((agent) => agent.state !== 'Started' || agent.exited),
      deadline,
      true,
    );
    // Runtime init (simulated: takes no time), then registration closes.
    let runtimeDone = false;
    const runtimeInitMs = this.options.function?.initDurationMs ?? 0;
    if (runtimeInitMs > 0 && !this.failedSince(mark)) {
      await this.waitUntil(() => this.failedSince(mark), Math.min(deadline, Date.now() + runtimeInitMs), true);
    }
    if (!this.failedSince(mark) && Date.now() < deadline && !this.interrupted()) {
      this.hub.publish('platform.initRuntimeDone', {
        initializationType: this.initializationType,
        phase: 'init',
        status: 'success',
      });
      runtimeDone = true;
    }
    this.registrationOpen = false;
    // Init ends when every registered extension has called event/next.
    const settled = await this.waitUntil(
      () =>
        this.initEndedBy(mark, agents) ||
        (agents.every((agent) => agent.state !== 'Started' || agent.exited) &&
          this.registeredAgents().every((agent) => agent.state !== 'Registered' || agent.exited) &&
          !agents.some(reportedAndRunning)),
      deadline,
      true,
    );
    this.subscriptionsOpen = false;
    this.hub.endHistory();
    const interrupted = !settled && this.interrupted() && Date.now() < deadline;
    const timedOut = !this.failedSince(mark) && !interrupted && Date.now() >= deadline;
    if (timedOut) this.initTimeoutVerdicts(agents);
    const stillReporting = agents.filter(reportedAndRunning);
    if (!this.managedInstances && !settled && !interrupted) {
      // On demand, RIE resets such an Init for its timeout (its LMI mode for the reported error only).
      for (const agent of stillReporting) {
        this.addVerdict({
          kind: 'init-timeout',
          errorType: 'Sandbox.Timedout',
          extension: agent.name,
          message: `reported ${agent.state === 'InitError' ? 'init/error' : 'exit/error'} but kept running until the ${this.describeLimit(this.options.initTimeoutMs ?? defaults.initTimeoutMs)} Init limit; Lambda waits for it to exit`,
        });
      }
    }
    if (!runtimeDone) {
      this.hub.publish('platform.initRuntimeDone', {
        initializationType: this.initializationType,
        phase: 'init',
        status: timedOut ? 'timeout' : interrupted ? 'error' : 'failure',
      });
    }
    const durationMs = Date.now() - initStart;
    // Any verdict fails Init, even one that did not end it early (a refused registration): the
    // environment is not one Lambda would invoke.
    const status: InitResult['status'] = interrupted
      ? 'interrupted'
      : timedOut
        ? 'timeout'
        : this.verdictLog.since(mark)
          ? 'error'
          : 'success';

    for (const agent of this.api.agents) {
      const events = `[${agent.events.join(', ')}]`;
      const errorType =
        agent.state === 'LaunchError'
          ? ` Error Type: ${this.verdictLog.of(agent.name).find((verdict) => verdict.kind === 'launch-error')?.errorType ?? 'Extension.LaunchError'}`
          : agent.reportedErrorType
            ? ` Error Type: ${agent.reportedErrorType}`
            : '';
      this.record('extension', `EXTENSION Name: ${agent.name} State: ${agent.state} Events: ${events}${errorType}`, {
        extension: agent.name,
        data: { state: agent.state, events: agent.events, kind: agent.kind },
      });
      this.hub.publish('platform.extension', { name: agent.name, state: agent.state, events: agent.events });
    }
    this.record(
      'init-report',
      `INIT_REPORT Init Duration: ${milliseconds(durationMs)} ms Phase: init Status: ${status}`,
      { data: { durationMs, status } },
    );
    this.hub.publish('platform.initReport', {
      initializationType: this.initializationType,
      phase: 'init',
      status: status === 'error' ? 'failure' : status,
      metrics: { durationMs },
    });
    const result: InitResult = { status, durationMs };
    this.inits.push(result);
    this.phase = 'idle';
    if (status === 'success') {
      this.initialized = true;
      this.initDurationForNextReport = durationMs;
    } else {
      // Lambda resets the environment after a failed Init; an interrupted one simply shuts down.
      await this.shutdown(status === 'timeout' ? 'timeout' : status === 'interrupted' ? 'spindown' : 'failure');
    }
    return result;
  }

  private initTimeoutVerdicts(agents: Agent[]): void {
    const limit = this.describeLimit(this.options.initTimeoutMs ?? defaults.initTimeoutMs);
    const internals = this.api.agents.filter((agent) => agent.kind === 'internal');
    for (const agent of agents) {
      if (agent.state === 'Started' && !agent.exited) {
        const mismatch = internals.length > 0;
        this.addVerdict({
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
    for (const agent of this.registeredAgents()) {
      if (agent.state === 'Registered' && !agent.exited) {
        this.addVerdict({
          kind: 'init-timeout',
          errorType: 'Sandbox.Timedout',
          extension: agent.name,
          message: `registered but did not call event/next within the ${limit} Init limit`,
        });
      }
    }
  }

  // ----- Invoke -----------------------------------------------------------

  /** Runs Init, or joins the one under way: concurrent invokes on Managed Instances must share it. */
  private initOnce(): Promise<InitResult> {
    this.initInProgress ??= this.init().finally(() => {
      this.initInProgress = undefined;
    });
    return this.initInProgress;
  }

  /**
   * One invocation. Re-runs Init first when the environment was reset (as
   * Lambda's next invoke does). On Managed Instances several may run at once
   * (call it again before the last one resolved); `runEmulator` keeps at most
   * `maxConcurrency` in flight.
   */
  async invoke(behaviour: FunctionBehaviour = {}): Promise<InvokeResult> {
    if (this.closed) throw new Error('the emulator is closed');
    if (!this.listening) await this.listen();
    const settings = { ...this.options.function, ...behaviour };
    const requestId = randomUUID();
    if (!this.initialized) {
      const init = await this.initOnce();
      if (init.status !== 'success') {
        const now = this.recorder.elapsedMs();
        const failed: InvokeResult = {
          requestId,
          status: init.status === 'interrupted' ? 'interrupted' : 'failure',
          durationMs: 0,
          runtimeDurationMs: 0,
          postRuntimeExtensionsDurationMs: 0,
          billedDurationMs: 0,
          maxMemoryUsedMB: 0,
          startMs: now,
          endMs: now,
          inFlightAtStart: 0,
        };
        this.invokes.push(failed);
        return failed;
      }
    }
    this.phase = 'invoke';
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const inFlightAtStart = this.inFlight;
    let result: InvokeResult;
    try {
      result = await this.runInvoke(settings, requestId, inFlightAtStart);
    } finally {
      this.inFlight -= 1;
      if (this.inFlight === 0 && this.phase === 'invoke') this.phase = 'idle';
    }
    // Lambda resets the environment after a timeout or a failure; the next invoke re-runs Init. On
    // Managed Instances a function timeout ends that invoke only (other invokes share the
    // environment), and a failure resets it once the last invoke in flight has ended.
    if (result.status === 'failure' || (result.status === 'timeout' && !this.managedInstances)) {
      this.resetReason ??= result.status === 'timeout' ? 'timeout' : 'failure';
    }
    const reason = this.resetReason;
    if (this.inFlight === 0 && reason !== undefined) {
      this.resetReason = undefined;
      if (this.initialized) await this.shutdown(reason);
    }
    return result;
  }

  private async runInvoke(
    settings: FunctionBehaviour,
    requestId: string,
    inFlightAtStart: number,
  ): Promise<InvokeResult> {
    const mark = this.verdictLog.mark;
    const timeoutMs = (settings.timeoutSeconds ?? defaults.timeoutSeconds) * 1000;
    const start = Date.now();
    const deadline = start + timeoutMs;
    // The function's deadline, as INVOKE tells it; what extensions do after it is emulated under CPU emulation.
    const extensionsDeadline = start + timeoutMs * this.limitFactor;
    const tracing = { type: 'X-Amzn-Trace-Id', value: traceHeader() };
    const arn = `arn:aws:lambda:${this.options.region ?? defaults.region}:${emulatorAccountId}:function:${this.functionName}`;
    // On Managed Instances the START line says how many invokes share the environment at that moment.
    const concurrencyText = this.managedInstances ? ` Concurrency: ${inFlightAtStart}/${this.maxConcurrency}` : '';
    this.record('start', `START RequestId: ${requestId} Version: $LATEST${concurrencyText}`, {
      requestId,
      ...(this.managedInstances ? { data: { inFlight: inFlightAtStart, maxConcurrency: this.maxConcurrency } } : {}),
    });
    this.hub.publish('platform.start', { requestId, version: '$LATEST', tracing });

    // Nobody can register INVOKE on Managed Instances, so this list is empty there.
    const invoked = this.registeredAgents().filter(
      (agent) => agent.events.includes('INVOKE') && !agent.exited && agent.state === 'Ready',
    );
    for (const agent of invoked) {
      this.api.deliver(agent, {
        eventType: 'INVOKE',
        deadlineMs: deadline,
        requestId,
        invokedFunctionArn: arn,
        tracing,
      });
    }

    // The simulated handler: prints its lines, runs for durationMs, may error or time out. On
    // Managed Instances the lines are spread over the run, so concurrent invokes interleave.
    const durationMs = settings.durationMs ?? defaults.durationMs;
    const logLines = settings.logLines ?? [];
    const printLine = (line: string) => {
      this.record('function-log', `${new Date().toISOString()}\t${requestId}\tINFO\t${line}`, { requestId });
      this.hub.publish('function', line);
    };
    const runEnd = start + Math.min(durationMs, timeoutMs);
    if (this.managedInstances && logLines.length > 1) {
      for (const [index, line] of logLines.entries()) {
        if (index > 0) {
          const printAt = start + (Math.min(durationMs, timeoutMs) * index) / logLines.length;
          if ((await this.waitUntil(() => this.failedSince(mark), printAt, true)) || this.interrupted()) break;
        }
        printLine(line);
      }
    } else {
      for (const line of logLines) printLine(line);
    }
    await this.waitUntil(() => this.failedSince(mark), runEnd, true);
    const runtimeDoneAt = Date.now();
    const runtimeDurationMs = runtimeDoneAt - start;
    const runtimeCut = this.interrupted() && runtimeDoneAt < runEnd;
    const runtimeTimedOut = durationMs >= timeoutMs && !this.failedSince(mark) && !runtimeCut;
    const runtimeStatus = this.failedSince(mark)
      ? 'failure'
      : runtimeCut
        ? 'interrupted'
        : runtimeTimedOut
          ? 'timeout'
          : settings.error
            ? 'error'
            : 'success';
    this.record(
      'runtime-done',
      `RUNTIME_DONE RequestId: ${requestId} Status: ${runtimeStatus} Duration: ${milliseconds(runtimeDurationMs)} ms`,
      {
        requestId,
        data: { status: runtimeStatus, durationMs: runtimeDurationMs },
      },
    );
    const responseSpans = [
      { name: 'responseLatency', start: new Date(start).toISOString(), durationMs: runtimeDurationMs },
      { name: 'responseDuration', start: new Date(runtimeDoneAt).toISOString(), durationMs: 0 },
    ];
    // RIE's LMI mode sends no platform.runtimeDone (its EventsAPI has no such method); platform.report follows.
    if (!this.managedInstances) {
      this.hub.publish('platform.runtimeDone', {
        requestId,
        status: runtimeStatus,
        metrics: { durationMs: runtimeDurationMs, producedBytes: 0 },
        tracing,
        spans: responseSpans,
      });
    }

    // The phase ends when every invoked extension has called event/next again.
    const allDone = () =>
      invoked.every((agent) => agent.exited || (agent.state === 'Ready' && agent.queuedEvent === undefined));
    if (!runtimeTimedOut && !runtimeCut)
      await this.waitUntil(() => this.failedSince(mark) || allDone(), extensionsDeadline, true);
    const end = Date.now();
    const cut = runtimeCut || (this.interrupted() && !this.failedSince(mark) && !allDone() && end < extensionsDeadline);
    const extensionsTimedOut = !runtimeTimedOut && !cut && !this.failedSince(mark) && !allDone();
    if (extensionsTimedOut) {
      for (const agent of invoked.filter((candidate) => candidate.state === 'Running' && !candidate.exited)) {
        this.addVerdict({
          kind: 'invoke-timeout',
          errorType: 'Sandbox.Timedout',
          extension: agent.name,
          requestId,
          message: `did not call event/next again within the function timeout (${timeoutMs / 1000} s${this.limitFactor === 1 ? '' : `, ×${this.limitFactor} under CPU emulation: ${(timeoutMs * this.limitFactor) / 1000} s`}) after INVOKE; Task timed out`,
        });
      }
    }
    const lastNext = Math.max(runtimeDoneAt, ...invoked.map((agent) => agent.lastNextAt ?? 0));
    const postRuntimeExtensionsDurationMs =
      extensionsTimedOut || runtimeTimedOut ? end - runtimeDoneAt : Math.max(0, lastNext - runtimeDoneAt);
    const phaseDurationMs = end - start;
    const status: InvokeResult['status'] =
      this.failedSince(mark) && !extensionsTimedOut
        ? 'failure'
        : cut
          ? 'interrupted'
          : runtimeTimedOut || extensionsTimedOut
            ? 'timeout'
            : runtimeStatus === 'error'
              ? 'error'
              : 'success';
    const maxMemoryUsedMB = peakMemoryMB(
      this.api.agents.filter((agent) => agent.pid !== undefined && !agent.exited).map((agent) => agent.pid!),
    );
    const result: InvokeResult = {
      requestId,
      status,
      durationMs: phaseDurationMs,
      runtimeDurationMs,
      postRuntimeExtensionsDurationMs: this.managedInstances ? 0 : postRuntimeExtensionsDurationMs,
      billedDurationMs: Math.ceil(phaseDurationMs),
      maxMemoryUsedMB,
      ...(this.initDurationForNextReport === undefined ? {} : { initDurationMs: this.initDurationForNextReport }),
      // From the same two readings as durationMs: the START entry may be stamped a millisecond after
      // `start`, and an end counted from it would overlap the next invoke, which starts at `end`.
      startMs: this.recorder.elapsedMs(start),
      endMs: this.recorder.elapsedMs(end),
      inFlightAtStart,
    };
    this.initDurationForNextReport = undefined;
    this.invokes.push(result);
    this.record('end', `END RequestId: ${requestId}`, { requestId });
    const initText =
      result.initDurationMs === undefined ? '' : ` Init Duration: ${milliseconds(result.initDurationMs)} ms`;
    const statusText = status === 'success' ? '' : ` Status: ${status}`;
    // No extension takes part in an invoke on Managed Instances: PostRuntimeExtensionsDuration does not apply.
    const postRuntimeText = this.managedInstances
      ? ''
      : ` PostRuntimeExtensionsDuration: ${milliseconds(postRuntimeExtensionsDurationMs)} ms`;
    this.record(
      'report',
      `REPORT RequestId: ${requestId} Duration: ${milliseconds(phaseDurationMs)} ms Billed Duration: ${result.billedDurationMs} ms ` +
        `Memory Size: ${this.memorySizeMB} MB Max Memory Used: ${maxMemoryUsedMB} MB${initText}${postRuntimeText}${statusText}`,
      { requestId, data: { ...result } },
    );
    this.hub.publish('platform.report', {
      requestId,
      status,
      metrics: {
        durationMs: phaseDurationMs,
        billedDurationMs: result.billedDurationMs,
        memorySizeMB: this.memorySizeMB,
        maxMemoryUsedMB,
        ...(result.initDurationMs === undefined ? {} : { initDurationMs: result.initDurationMs }),
      },
      tracing,
      // RIE's LMI report carries the response spans that platform.runtimeDone carries on demand.
      ...(this.managedInstances
        ? {
            spans: responseSpans,
          }
        : {}),
    });
    return result;
  }

  // ----- Freeze between invokes -------------------------------------------

  /** Whether this run freezes the environment between invokes: on demand, when asked for. */
  get freezesBetweenInvokes(): boolean {
    return this.options.freezeMs !== undefined && !this.managedInstances;
  }

  /**
   * Runs `gap` (the pause between two invokes) with the environment frozen,
   * as Lambda freezes an idle one: every process of the layer SIGSTOPped,
   * telemetry delivery held, then SIGCONT. Timers of the extensions do not
   * fire, and a request they had in flight straddles the freeze, as on
   * Lambda. Not on Managed Instances (never frozen), nor without an
   * initialised environment.
   */
  async frozen(gap: () => Promise<void>): Promise<void> {
    if (!this.freezesBetweenInvokes || !this.initialized || this.closed) return gap();
    this.hub.pause();
    const stopped = this.processes.freeze();
    this.freezes += 1;
    if (this.freezes === 1) {
      const minimumMs = this.options.freezeMs ?? 0;
      this.record(
        'freeze',
        `FREEZE between invokes the environment is frozen, as on Lambda: SIGSTOP to every process of the layer (${stopped} now), ` +
          `telemetry held, SIGCONT before the next invoke; at least ${minimumMs} ms each time`,
        { data: { processes: stopped, minimumMs } },
      );
    }
    try {
      await gap();
    } finally {
      this.processes.thaw();
      this.hub.resume();
    }
  }

  // ----- Shutdown ---------------------------------------------------------

  /**
   * The Shutdown phase: buffered telemetry goes out, SHUTDOWN goes to the
   * external extensions that subscribed to it, and everything still running
   * at the deadline is SIGKILLed. Extensions that did not subscribe to
   * SHUTDOWN are SIGKILLed at once, as RIE does: they cannot know the phase
   * has started. Each extension gets its whole budget from the moment
   * SHUTDOWN is sent, and its exit time is measured from then.
   */
  async shutdown(reason: ShutdownReason = 'spindown'): Promise<ShutdownResult> {
    const live = this.liveExternals();
    const hasInternal = this.api.agents.some((agent) => agent.kind === 'internal' && agent.id !== undefined);
    if (!this.initialized && live.length === 0 && this.lastShutdown !== undefined && this.phase === 'idle') {
      return this.lastShutdown;
    }
    this.phase = 'shutdown';
    this.registrationOpen = false;
    this.subscriptionsOpen = false;
    const start = Date.now();
    const baseBudget =
      live.length > 0
        ? (this.options.shutdownBudgetMs ?? defaults.shutdownBudgetMs)
        : hasInternal
          ? defaults.internalShutdownBudgetMs
          : 0;
    const fullBudget = baseBudget * this.limitFactor;
    // After Ctrl-C the user is waiting: extensions still get SHUTDOWN, with a short budget, and one
    // that overruns it is killed without a verdict (its budget was ours to cut, not Lambda's).
    const interrupted = this.interrupted();
    const budget = interrupted ? Math.min(fullBudget, defaults.interruptedShutdownBudgetMs) : fullBudget;
    const scaled = budget === fullBudget && this.limitFactor !== 1 ? this.describeLimit(baseBudget) : `${budget} ms`;
    this.record('shutdown', `SHUTDOWN Reason: ${reason} Budget: ${scaled}`, { data: { reason, budgetMs: budget } });

    // Lambda delivers the last telemetry batch during Shutdown. A subscriber drains when it sees
    // SHUTDOWN, so a healthy listener gets the batch first; a listener that is down gets a short
    // grace only, then delivery goes on while the extensions shut down, never eating their budget.
    const subscribers = this.hub.subscribers;
    if (budget > 0 && subscribers.length > 0) {
      const delivered = await this.hub.flush(start + Math.min(defaults.preShutdownFlushMs, budget));
      if (!delivered) {
        for (const subscriber of subscribers.filter((candidate) => candidate.pendingRecords > 0)) {
          this.record(
            'telemetry',
            `TELEMETRY ${subscriber.extension}: ${subscriber.pendingRecords} record(s) not accepted by ${subscriber.request.uri} ` +
              `within ${Date.now() - start} ms; SHUTDOWN sent anyway, delivery goes on during Shutdown`,
            { extension: subscriber.extension },
          );
        }
      }
    }
    const shutdownSentAt = Date.now();
    const telemetryFlushMs = shutdownSentAt - start;
    const deadline = shutdownSentAt + budget;
    const delivery = budget > 0 ? this.hub.flush(deadline) : Promise.resolve(true);

    for (const agent of live) {
      const subscribed = agent.id !== undefined && agent.events.includes('SHUTDOWN');
      if (subscribed && (agent.state === 'InitError' || agent.state === 'ExitError')) {
        // As RIE (rapid/shutdown.go): no event for it (its next calls are refused), but it has
        // until the deadline to exit, and is SIGKILLed then.
        continue;
      } else if (subscribed) {
        this.api.deliver(agent, { eventType: 'SHUTDOWN', shutdownReason: reason, deadlineMs: deadline });
      } else {
        this.kill(agent, 'not-subscribed');
      }
    }
    for (const agent of this.api.agents.filter((candidate) => candidate.kind === 'internal'))
      this.api.releasePending(agent);

    await this.waitUntil(() => live.every((agent) => agent.exited), deadline);
    const stragglers = live.filter((agent) => !agent.exited);
    for (const agent of stragglers) {
      const reported = agent.state === 'InitError' || agent.state === 'ExitError';
      this.kill(agent, 'deadline');
      // One that reported init/error or exit/error has its verdict already; RIE records no ShutdownFailed for it.
      if (interrupted || reported) continue;
      this.addVerdict({
        kind: 'shutdown-timeout',
        errorType: 'Extension.ShutdownFailed',
        extension: agent.name,
        message:
          agent.lostEvents?.includes('SHUTDOWN') === true
            ? `never received SHUTDOWN: a client timeout on event/next dropped the call Lambda wrote it into, so it was lost (event/next must have no client timeout); SIGKILLed at the Shutdown deadline (${this.describeLimit(baseBudget)})`
            : `still running at the Shutdown deadline (${this.describeLimit(baseBudget)} after SHUTDOWN ${reason}); SIGKILLed`,
      });
    }
    if (stragglers.length > 0) await this.waitUntil(() => stragglers.every((agent) => agent.exited), Date.now() + 1000);
    // With only internal extensions left, nothing can receive telemetry any more once they are released.
    if (live.length === 0) await delivery;

    const extensions: ShutdownExtensionResult[] = [];
    for (const agent of this.api.agents.filter((candidate) => candidate.kind === 'external')) {
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
      if (wasLive) {
        const how =
          outcome === 'exited'
            ? `exited ${milliseconds(exitMs ?? 0)} ms after SHUTDOWN (${agent.signal ? `signal ${agent.signal}` : `code ${agent.exitCode}`})`
            : outcome === 'killed'
              ? `SIGKILLed at once: ${agent.id === undefined ? 'never registered' : agent.state === 'InitError' || agent.state === 'ExitError' ? `in state ${agent.state}` : 'not subscribed to SHUTDOWN'}`
              : `SIGKILLed at the deadline, ${milliseconds(exitMs ?? budget)} ms after SHUTDOWN`;
        this.record('shutdown-extension', `SHUTDOWN Name: ${agent.name} ${how}`, {
          extension: agent.name,
          data: { outcome, exitMs },
        });
      }
    }
    for (const subscriber of subscribers.filter((candidate) => candidate.pendingRecords > 0)) {
      const exited = extensions.some((entry) => entry.name === subscriber.extension && entry.outcome === 'exited');
      const listened = subscriber.stats.deliveredBatches > 0;
      // Lines a subscriber logs while it shuts down come after its listener closed: Lambda cannot deliver them either.
      const why =
        exited && listened
          ? `were still queued when ${subscriber.extension} exited (typically its own last log lines, logged after its listener closed; Lambda cannot deliver those either)`
          : `never delivered: ${subscriber.request.uri} did not accept them before Shutdown ended`;
      this.record('telemetry', `TELEMETRY ${subscriber.extension}: ${subscriber.pendingRecords} record(s) ${why}`, {
        extension: subscriber.extension,
      });
    }
    const result: ShutdownResult = { reason, durationMs: Date.now() - start, telemetryFlushMs, extensions };
    const flushText =
      subscribers.length > 0 ? ` Telemetry flush before SHUTDOWN: ${milliseconds(telemetryFlushMs)} ms` : '';
    this.record(
      'shutdown',
      `SHUTDOWN_REPORT Reason: ${reason} Duration: ${milliseconds(result.durationMs)} ms${flushText}`,
      { data: { ...result } },
    );
    this.hub.close();
    this.lastShutdown = result;
    this.initialized = false;
    this.phase = 'idle';
    return result;
  }

  /** Kills whatever still runs and stops the API server. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.processes.stopAll([...this.retiredAgents, ...this.api.agents]);
    this.hub.close();
    if (this.listening) await this.api.close();
  }

  // ----- Report -----------------------------------------------------------

  report(): EmulatorReport {
    const agents = [...this.retiredAgents, ...this.api.agents];
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
      verdicts: this.verdictLog.of(agent.name),
    }));
    const failed = this.verdictLog.all.length > 0;
    const interrupted = this.interrupted();
    return {
      status: failed ? 'failed' : interrupted ? 'interrupted' : 'passed',
      exitCode: interrupted ? 130 : failed ? 1 : 0,
      interrupted,
      layerDirectory: this.options.layerDirectory,
      runtimeApi: this.runtimeApi,
      functionName: this.functionName,
      memorySizeMB: this.memorySizeMB,
      ...(this.options.cpuEmulation === undefined ? {} : { cpuEmulation: { ...this.options.cpuEmulation } }),
      ...(this.options.node === undefined ? {} : { node: { ...this.options.node } }),
      computeMode: this.managedInstances ? 'managed-instances' : 'on-demand',
      maxConcurrency: this.maxConcurrency,
      maxInFlight: this.maxInFlight,
      ...(this.containment === undefined ? {} : { containment: { ...this.containment } }),
      ...(this.freezes === 0 ? {} : { freeze: { minimumMs: this.options.freezeMs ?? 0, gaps: this.freezes } }),
      inits: [...this.inits],
      invokes: [...this.invokes],
      ...(this.lastShutdown === undefined ? {} : { shutdown: this.lastShutdown }),
      extensions,
      verdicts: [...this.verdictLog.all],
      telemetry: {
        subscriptions: this.allSubscribers.map((subscriber) => subscriber.report()),
        logsApiCalls: this.api.logsApiCalls,
      },
      output: this.recorder.outputReport(),
      timeline: this.recorder.entries(),
    };
  }
}

/** An extension that reported init/error or exit/error and has not exited: Init waits for it. */
function reportedAndRunning(agent: Agent): boolean {
  return (agent.state === 'InitError' || agent.state === 'ExitError') && !agent.exited;
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

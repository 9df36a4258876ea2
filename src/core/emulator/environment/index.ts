import { RunRecorder, type EntryDetails } from '../output.js';
import { TelemetryHub, TelemetrySubscriber } from '../telemetry/index.js';
import type {
  ContainmentReport,
  InitResult,
  InvokeResult,
  Phase,
  ShutdownReason,
  ShutdownResult,
  TimelineEntry,
  TimelineKind,
  Verdict,
} from '../types.js';
import { changeState, newAgent, type Agent } from './agents.js';
import { FunctionRuntime } from './runtime.js';
import { emulatorAccountId, type EmulatorSettings } from './settings.js';
import { maxNonFatalVerdicts, VerdictLog } from './verdicts.js';
import { Waits } from './waits.js';

/**
 * The one state of an emulated execution environment, as RIE keeps it in
 * core/ and rapid/: the phase and its gates (registration, subscriptions),
 * the extensions and their states, the verdicts, the timeline and the
 * telemetry. The HTTP handlers (api/) and the lifecycle (lifecycle/) both
 * read and change it; neither knows the other.
 */

/** How the environment tells the world what happens: the Emulator's events. */
export type EnvironmentEvents = (event: 'timeline' | 'verdict' | 'output', ...args: unknown[]) => void;

export class Environment {
  readonly settings: EmulatorSettings;
  phase: Phase | 'idle' = 'idle';
  /** Extensions may register (Init, until the runtime is done). */
  registrationOpen = false;
  /** Extensions may subscribe to telemetry (Init). */
  subscriptionsOpen = false;
  /** The port the API listens on; 0 until it does. */
  port = 0;
  /** Extensions of the current (or last) environment. */
  readonly agents: Agent[] = [];
  /** Extensions of earlier environments (before a reset), kept for the report. */
  readonly retiredAgents: Agent[] = [];
  hub: TelemetryHub;
  readonly allSubscribers: TelemetrySubscriber[] = [];
  readonly verdictLog = new VerdictLog();
  readonly recorder: RunRecorder;
  readonly waits: Waits;
  readonly inits: InitResult[] = [];
  readonly invokes: InvokeResult[] = [];
  /** Each invoke's place in the order invokes started: concurrent ones (Managed Instances) end in another. */
  readonly invokeOrder = new Map<string, number>();
  lastShutdown: ShutdownResult | undefined;
  environmentNumber = 0;
  /** The current environment finished Init and has not been reset since. */
  initialized = false;
  /**
   * Lambda's `phase` of the current Init: `invoke` when it re-runs inside an invoke because the one before failed
   * (a suppressed Init: INIT_REPORT … Phase: invoke), else `init`.
   */
  initPhase: 'init' | 'invoke' = 'init';
  initDurationForNextReport: number | undefined;
  /** The Init under way, shared by the invokes that wait for it (several, on Managed Instances). */
  initInProgress: Promise<InitResult> | undefined;
  inFlight = 0;
  maxInFlight = 0;
  /** Why the environment resets once the invokes in flight have ended. */
  resetReason: ShutdownReason | undefined;
  closed = false;
  containment: ContainmentReport | undefined;
  freezes = 0;
  logsApiCalls = 0;
  /** Refused registrations noted in the timeline so far (see api/register.ts). */
  refusalNotes = 0;
  /** The last reading of the processes' peak memory (see lifecycle/invoke.ts). */
  memoryReading: { at: number; mb: number; environment: number } | undefined;
  /** The real function runtime of the current environment, with EmulatorOptions.runtime; else undefined. */
  runtime: FunctionRuntime | undefined;

  constructor(
    settings: EmulatorSettings,
    private readonly emit: EnvironmentEvents,
  ) {
    this.settings = settings;
    this.hub = new TelemetryHub(settings.telemetryBufferBytes);
    this.waits = new Waits(settings.signal);
    this.recorder = new RunRecorder((entry) => {
      settings.onTimeline?.(entry);
      this.emit('timeline', entry);
    });
    this.runtime = this.newRuntime();
  }

  private newRuntime(): FunctionRuntime | undefined {
    return this.settings.runtime === undefined
      ? undefined
      : new FunctionRuntime(this.settings.managedInstances, () => this.changed());
  }

  /** `127.0.0.1:<port>`, the value of AWS_LAMBDA_RUNTIME_API. */
  get runtimeApi(): string {
    return `${this.settings.host}:${this.port}`;
  }

  /** Lambda's initializationType in platform.init* records, and RIE's for LMI (interop/model.go). */
  get initializationType(): string {
    return this.settings.managedInstances ? 'lambda-managed-instances' : 'on-demand';
  }

  /** `10000 ms`, or `100000 ms (10000 ms ×10 under emulation)`: a verdict names the limit it applied. */
  describeLimit(baseMs: number): string {
    const factor = this.settings.limitFactor;
    return factor === 1 ? `${baseMs} ms` : `${baseMs * factor} ms (${baseMs} ms ×${factor} under CPU emulation)`;
  }

  interrupted(): boolean {
    return this.settings.signal?.aborted === true;
  }

  /** Something changed: every wait checks again. */
  changed(): void {
    this.waits.changed();
  }

  waitUntil(predicate: () => boolean, deadline: number, interruptible = false): Promise<boolean> {
    return this.waits.until(predicate, deadline, interruptible);
  }

  record(kind: TimelineKind, text: string, details: EntryDetails = {}): TimelineEntry {
    return this.recorder.record(kind, text, details);
  }

  note(text: string, extension?: string): void {
    this.record('note', text, { extension });
  }

  addVerdict(verdict: Omit<Verdict, 'phase'> & { phase?: Phase }): void {
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

  /**
   * Whether a fatal verdict happened since `mark`. A refused registration is
   * reported but does not end the phase by itself: on Lambda the process
   * then usually exits (Crash) or never registers (timeout).
   */
  failedSince(mark: number): boolean {
    return this.verdictLog.failedSince(mark);
  }

  // ----- extensions -----------------------------------------------------------

  addExternal(name: string, file: string): Agent {
    const agent = newAgent(name, 'external', this.environmentNumber, file);
    this.agents.push(agent);
    return agent;
  }

  addInternal(name: string): Agent {
    const agent = newAgent(name, 'internal', this.environmentNumber);
    this.agents.push(agent);
    return agent;
  }

  /** A new execution environment: the extensions of the last one are retired, telemetry starts afresh. */
  renew(): void {
    this.environmentNumber += 1;
    this.retiredAgents.push(...this.agents);
    this.agents.length = 0;
    this.hub = new TelemetryHub(this.settings.telemetryBufferBytes);
    this.runtime = this.newRuntime();
  }

  registeredAgents(): Agent[] {
    return this.agents.filter((agent) => agent.id !== undefined);
  }

  liveExternals(): Agent[] {
    return this.agents.filter((agent) => agent.kind === 'external' && agent.child !== undefined && !agent.exited);
  }

  functionMetadata(): { functionName: string; functionVersion: string; handler: string; accountId: string } {
    return {
      functionName: this.settings.functionName,
      functionVersion: '$LATEST',
      handler: this.settings.handler,
      accountId: emulatorAccountId,
    };
  }

  /** Hands an event to the extension now if it is waiting in next, otherwise on its next call. */
  deliver(agent: Agent, event: Record<string, unknown>): void {
    if (event['eventType'] === 'SHUTDOWN') agent.shutdownSent = true;
    changeState(agent, 'Running');
    const pending = agent.pendingNext;
    if (agent.nextDropped === true) {
      // As RIE: the event goes into the call the client already dropped, and is lost.
      agent.pendingNext = undefined;
      agent.nextDropped = false;
      const eventType = String(event['eventType']);
      (agent.lostEvents ??= []).push(eventType);
      this.note(
        `${eventType} lost: Lambda wrote it into the event/next call ${agent.name} had already dropped (a client timeout on event/next; event/next must have none)`,
        agent.name,
      );
    } else if (pending !== undefined && pending.answerable) {
      agent.pendingNext = undefined;
      pending.answer(event);
    } else {
      agent.pendingNext = undefined;
      agent.queuedEvent = event;
    }
    this.changed();
  }

  /** Ends a parked next call, e.g. when its process is gone. */
  releasePending(agent: Agent): void {
    const pending = agent.pendingNext;
    agent.pendingNext = undefined;
    agent.nextDropped = false;
    if (pending !== undefined && !pending.ended) pending.destroy();
  }

  // ----- telemetry ------------------------------------------------------------

  subscribeTelemetry(agent: Agent, request: TelemetrySubscriber['request']): TelemetrySubscriber {
    const subscriber = new TelemetrySubscriber(agent.name, request, this.settings.telemetryBufferBytes, (message) =>
      this.record('telemetry', `TELEMETRY ${agent.name}: ${message}`, { extension: agent.name }),
    );
    this.hub.subscribe(subscriber);
    this.allSubscribers.push(subscriber);
    return subscriber;
  }

  /** A line an extension printed: timeline, listeners and `extension` telemetry. */
  extensionOutput(agent: Agent, stream: 'stdout' | 'stderr', kept: string, droppedBytes: number): void {
    const line = this.recorder.output(agent.name, stream, kept, droppedBytes);
    this.settings.onExtensionOutput?.(agent.name, stream, line);
    this.emit('output', agent.name, stream, line);
    this.hub.publish('extension', line);
  }
}

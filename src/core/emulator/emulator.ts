import { EventEmitter } from 'node:events';
import { ExtensionsApiServer } from './api/server.js';
import type { Agent } from './environment/agents.js';
import { Environment } from './environment/index.js';
import { environmentReport } from './environment/report.js';
import { resolveSettings, type EmulatorSettings } from './environment/settings.js';
import { extensionExited } from './lifecycle/exits.js';
import { freezesBetweenInvokes, frozen } from './lifecycle/freeze.js';
import { init } from './lifecycle/init.js';
import { invoke } from './lifecycle/invoke.js';
import { shutdown } from './lifecycle/shutdown.js';
import { ExtensionProcesses } from './processes/extension-processes.js';
import type {
  EmulatorOptions,
  EmulatorReport,
  FunctionBehaviour,
  InitResult,
  InvokeEvent,
  InvokeResult,
  ShutdownReason,
  ShutdownResult,
  TimelineEntry,
  Verdict,
} from './types.js';

export { emulatorAccountId } from './environment/settings.js';

/**
 * One emulated Lambda execution environment, as seen by extensions. Drive
 * it step by step (`start`, `invoke`, `shutdown`, `close`) or use
 * `runEmulator` for a whole lifecycle. Events: `timeline` (TimelineEntry),
 * `verdict` (Verdict), `output` (name, stream, line).
 *
 * A facade: the state is the Environment, the HTTP side the API server,
 * the phases the lifecycle modules; this class only wires them together.
 */
export class Emulator extends EventEmitter {
  /** The options, resolved once: every default applied. */
  readonly settings: EmulatorSettings;
  private readonly environment: Environment;
  private readonly api: ExtensionsApiServer;
  private readonly processes: ExtensionProcesses;
  private listening = false;
  /** Invokes that took their event from EmulatorOptions.events. */
  private eventsHanded = 0;

  constructor(options: EmulatorOptions) {
    super();
    this.settings = resolveSettings(options);
    const environment = new Environment(this.settings, (event, ...args) => this.emit(event, ...args));
    this.environment = environment;
    this.api = new ExtensionsApiServer(environment);
    this.processes = new ExtensionProcesses({
      output: (agent, stream, line, droppedBytes) => environment.extensionOutput(agent, stream, line, droppedBytes),
      exited: (agent, code, signal) => extensionExited(environment, agent, code, signal),
    });
  }

  get functionName(): string {
    return this.settings.functionName;
  }

  get memorySizeMB(): number {
    return this.settings.memorySizeMB;
  }

  /** Whether this emulates Lambda Managed Instances (EmulatorOptions.managedInstances). */
  get managedInstances(): boolean {
    return this.settings.managedInstances;
  }

  /** Invokes allowed in flight at once: 1 on demand. */
  get maxConcurrency(): number {
    return this.settings.maxConcurrency;
  }

  /** `127.0.0.1:<port>`, the value of AWS_LAMBDA_RUNTIME_API. Valid after `listen()` or `start()`. */
  get runtimeApi(): string {
    return this.environment.runtimeApi;
  }

  /** The first and last entries of the run, with a note where entries were left out (see BoundedTimeline). */
  get timeline(): readonly TimelineEntry[] {
    return this.environment.recorder.entries();
  }

  get verdicts(): readonly Verdict[] {
    return this.environment.verdictLog.all;
  }

  /** Extensions of the current (or last) environment. */
  get extensions(): readonly Agent[] {
    return this.environment.agents;
  }

  /** Whether this run freezes the environment between invokes: on demand, when asked for. */
  get freezesBetweenInvokes(): boolean {
    return freezesBetweenInvokes(this.environment);
  }

  /** Starts the API server without launching anything (for protocol tests that act as an extension). */
  async listen(): Promise<string> {
    if (!this.listening) {
      this.environment.port = await this.api.listen(this.settings.host, this.settings.port);
      this.listening = true;
    }
    return this.runtimeApi;
  }

  /** Starts the API and runs the Init phase. */
  async start(): Promise<InitResult> {
    await this.listen();
    return init(this.environment, this.processes);
  }

  /**
   * One invocation. Re-runs Init first when the environment was reset (as
   * Lambda's next invoke does). On Managed Instances several may run at once
   * (call it again before the last one resolved); `runEmulator` keeps at most
   * `maxConcurrency` in flight. With a real runtime (EmulatorOptions.runtime), `event` is what its
   * `next` returns (default: the next of EmulatorOptions.events, in turn, else `{}`); a function error,
   * timeout or crash shows in the result's status and response, never as a verdict.
   */
  async invoke(behaviour: FunctionBehaviour = {}, event?: InvokeEvent): Promise<InvokeResult> {
    if (this.environment.closed) throw new Error('the emulator is closed');
    if (!this.listening) await this.listen();
    const { events } = this.settings;
    const chosen = event ?? events[this.eventsHanded++ % events.length];
    return invoke(this.environment, this.processes, behaviour, chosen);
  }

  /** Runs `gap` (the pause between two invokes) with the environment frozen, as Lambda freezes an idle one. */
  frozen(gap: () => Promise<void>): Promise<void> {
    return frozen(this.environment, this.processes, gap);
  }

  /** The Shutdown phase; see lifecycle/shutdown.ts. */
  shutdown(reason: ShutdownReason = 'spindown'): Promise<ShutdownResult> {
    return shutdown(this.environment, this.processes, reason);
  }

  /** Kills whatever still runs and stops the API server. Safe to call twice. */
  async close(): Promise<void> {
    const environment = this.environment;
    if (environment.closed) return;
    environment.closed = true;
    await this.processes.stopAll([...environment.retiredAgents, ...environment.agents]);
    environment.hub.close();
    if (this.listening) await this.api.close();
  }

  report(): EmulatorReport {
    return environmentReport(this.environment);
  }
}

import type { Architecture } from '../../layer/architectures.js';
import { emulatedLaunch } from '../cpu-emulation/index.js';
import type { Agent } from '../environment/agents.js';
import { LineSplitter } from '../output.js';
import type { CpuEmulation, RuntimeCommand } from '../types.js';
import { signal } from './cgroup.js';
import { launchProblem, startExtension } from './launch.js';
import { startRuntimeProcess, type RuntimeListener } from './runtime-process.js';
import { ProcessSupervisor, type Containment } from './supervisor.js';

/**
 * The processes of a run's external extensions: starting them, reading
 * their output line by line (bounded), noticing their exit, killing them,
 * and at the end reaping everything they started.
 */

/** How long `stopAll` waits for the last output of killed extensions to be read. */
const outputDrainMs = 1000;

export interface ProcessListener {
  output(agent: Agent, stream: 'stdout' | 'stderr', line: string, droppedBytes: number): void;
  exited(agent: Agent, code: number | null, signal: NodeJS.Signals | null): void;
}

export class ExtensionProcesses {
  private readonly supervisor = new ProcessSupervisor();
  /** Resolve when an extension's stdout and stderr have ended. */
  private readonly outputsClosed: Promise<void>[] = [];
  /** The function's runtime process while it runs (a real runtime only). */
  private runtimePid: number | undefined;

  constructor(private readonly listener: ProcessListener) {}

  /** Sets up how the run holds its processes (once); call before the first `start`. */
  prepare(): Containment {
    return this.supervisor.prepare();
  }

  /** SIGSTOPs every process of the run; returns how many. */
  freeze(): number {
    return this.supervisor.freeze();
  }

  thaw(): void {
    this.supervisor.thaw();
  }

  /**
   * Starts the agent's file, for the function's architecture (under `emulation` when it is foreign);
   * resolves with the launch error Lambda would report, or undefined once it runs.
   */
  async start(
    agent: Agent,
    environment: Record<string, string>,
    target: { architecture: Architecture | undefined; emulation: CpuEmulation | undefined },
  ): Promise<string | undefined> {
    const file = agent.file!;
    const problem = await launchProblem(file, target.architecture ?? target.emulation?.architecture);
    const started =
      problem === undefined
        ? await startExtension(
            file,
            this.supervisor.environment(environment),
            await emulatedLaunch(file, target.emulation),
            (start) => this.supervisor.contain(start),
          )
        : { error: problem };
    if ('error' in started) return started.error;
    const child = started.child;
    agent.child = child;
    agent.pid = child.pid;
    if (child.pid !== undefined) this.supervisor.adopt(child.pid);
    for (const stream of ['stdout', 'stderr'] as const) {
      const source = child[stream];
      if (source === null) continue;
      // Not readline: it holds a line until its newline, and a line may never end.
      const lines = new LineSplitter((line, dropped) => this.listener.output(agent, stream, line, dropped));
      source.on('data', (chunk: Buffer) => lines.write(chunk));
      this.outputsClosed.push(
        new Promise((resolve) => {
          source.once('close', () => {
            lines.end();
            resolve();
          });
        }),
      );
    }
    child.on('exit', (code, signal) => this.listener.exited(agent, code, signal));
    return undefined;
  }

  /**
   * Starts the function's runtime under the run's containment; resolves with its pid, or the exec error
   * Lambda would report.
   */
  async startRuntime(
    command: RuntimeCommand,
    environment: Record<string, string>,
    listener: RuntimeListener,
  ): Promise<{ pid: number | undefined } | { error: string }> {
    const own: { pid?: number | undefined } = {};
    const started = await startRuntimeProcess(
      command,
      this.supervisor.environment(environment),
      {
        output: listener.output,
        exited: (code, exitSignal) => {
          if (this.runtimePid === own.pid) this.runtimePid = undefined;
          listener.exited(code, exitSignal);
        },
      },
      (start) => this.supervisor.contain(start),
    );
    if ('error' in started) return started;
    const pid = started.child.pid;
    own.pid = pid;
    this.outputsClosed.push(started.outputClosed);
    this.runtimePid = pid;
    if (pid !== undefined) this.supervisor.adopt(pid);
    return { pid };
  }

  /** Signals the runtime's process group (SIGTERM to ask it to stop, SIGKILL to end it). */
  signalRuntime(pid: number, name: NodeJS.Signals): void {
    signal(-pid, name);
  }

  kill(agent: Agent, reason: NonNullable<Agent['killedBy']>): void {
    if (agent.exited || agent.child === undefined) return;
    agent.killedBy ??= reason;
    if (agent.pid !== undefined) {
      // Each extension runs in its own process group: a launcher script's children die with it.
      this.supervisor.killGroup(agent.pid);
    } else {
      agent.child.kill('SIGKILL');
    }
  }

  /** Kills the agents and everything they left behind (group children, setsid escapees), then reads their last output. */
  async stopAll(agents: Agent[]): Promise<void> {
    for (const agent of agents) this.kill(agent, 'cleanup');
    if (this.runtimePid !== undefined) signal(-this.runtimePid);
    this.supervisor.reap();
    // A pipe held open by something we could not kill does not hold us.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.outputsClosed),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, outputDrainMs))),
    ]);
    clearTimeout(timer);
  }
}

import type { ChildProcess } from 'node:child_process';
import type { ExtensionEventType, ExtensionState } from '../types.js';

/**
 * The extensions of one execution environment and the state changes each
 * may make (RIE's agent state machines, core/agentsmap.go and
 * core/externalagent.go). `changeState` is the only place an agent's state
 * is written.
 */

/**
 * A parked `event/next` call, as the API hands it to the environment: the
 * environment answers it with an event or ends it, without knowing HTTP.
 */
export interface ParkedNext {
  /** The answer has been sent (or the call ended). */
  readonly ended: boolean;
  /** It can still carry an answer: neither ended nor destroyed. */
  readonly answerable: boolean;
  answer(event: Record<string, unknown>): void;
  destroy(): void;
}

export interface Agent {
  name: string;
  kind: 'external' | 'internal';
  file?: string | undefined;
  id?: string | undefined;
  /** Read it freely; change it with `changeState` only. */
  state: ExtensionState;
  events: ExtensionEventType[];
  child?: ChildProcess | undefined;
  pid?: number | undefined;
  /** The parked `event/next` request, waiting for an event. */
  pendingNext?: ParkedNext | undefined;
  /**
   * The parked call was dropped by the client (a client timeout). Lambda does not notice: it still
   * counts the extension as waiting and writes the next event into the dead call, where it is lost.
   */
  nextDropped?: boolean | undefined;
  /** Events lost that way, in order (e.g. INVOKE, SHUTDOWN). */
  lostEvents?: string[] | undefined;
  /** An event to hand out on the next `event/next` call. */
  queuedEvent?: Record<string, unknown> | undefined;
  /** When the extension last called `event/next` (epoch ms). */
  lastNextAt?: number | undefined;
  reportedErrorType?: string | undefined;
  exited: boolean;
  exitCode?: number | null | undefined;
  signal?: string | null | undefined;
  exitedAt?: number | undefined;
  /** Set when the emulator itself kills the process. */
  killedBy?: 'not-subscribed' | 'deadline' | 'cleanup' | undefined;
  shutdownSent: boolean;
  /** Which execution environment (1, 2, … after resets) the extension belongs to. */
  environment: number;
}

const ends: readonly ExtensionState[] = ['Exited', 'ShutdownFailed'];

/**
 * Every state change the emulator makes, from each state. The API refuses
 * what RIE refuses before it gets here (403 InvalidExtensionState); a change
 * missing from this table is a bug of the emulator, not of an extension.
 */
const allowedChanges: Record<ExtensionState, readonly ExtensionState[]> = {
  Started: ['Registered', 'LaunchError', ...ends],
  Registered: ['Ready', 'Running', 'InitError', 'ExitError', ...ends],
  Ready: ['Running', 'ExitError', ...ends],
  Running: ['Ready', 'Running', 'ExitError', ...ends],
  InitError: ['InitError', 'ShutdownFailed'],
  ExitError: ['ExitError', 'ShutdownFailed'],
  LaunchError: ends,
  Exited: [],
  ShutdownFailed: [],
};

export function mayChangeState(agent: Agent, to: ExtensionState): boolean {
  return allowedChanges[agent.state].includes(to);
}

/** The one place an agent's state changes. */
export function changeState(agent: Agent, to: ExtensionState): void {
  if (!mayChangeState(agent, to)) {
    throw new Error(`emulator bug: extension ${agent.name} cannot change from ${agent.state} to ${to}`);
  }
  agent.state = to;
}

/** An extension that reported init/error or exit/error. */
export function hasReportedError(agent: Agent): boolean {
  return agent.state === 'InitError' || agent.state === 'ExitError';
}

/** An extension that reported init/error or exit/error and has not exited: Init waits for it. */
export function reportedAndRunning(agent: Agent): boolean {
  return hasReportedError(agent) && !agent.exited;
}

export function newAgent(name: string, kind: Agent['kind'], environment: number, file?: string): Agent {
  return {
    name,
    kind,
    ...(file === undefined ? {} : { file }),
    state: 'Started',
    events: [],
    exited: false,
    shutdownSent: false,
    environment,
  };
}

import { randomUUID } from 'node:crypto';
import fs from 'node:fs';

/**
 * Every process an extension starts dies with the run. Extensions come from
 * layers users downloaded, so "the extension cleans up after itself" is no
 * guarantee: a launcher may leave a child in its process group and exit 0,
 * and a child may call setsid (new session and group) or double-fork, so it
 * is neither in the group nor a descendant of anything we know any more.
 * Three nets catch them, on Linux; elsewhere only the first exists:
 * - each extension runs in its own process group, killed as a whole;
 * - every process whose /proc/<pid>/environ holds this run's
 *   EXT_DEV_RUN_ID (children inherit it, setsid or not);
 * - descendants seen by a periodic /proc walk, for a child that also
 *   scrubbed its environment (known by pid and start time, so a reused pid
 *   is never killed).
 */

export const runIdVariable = 'EXT_DEV_RUN_ID';

interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  startTime: string;
  zombie: boolean;
}

function processInfo(pid: number): ProcessInfo | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may hold spaces or parentheses itself: parse after the last one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [state, ppid, pgid] = [fields[0], Number(fields[1]), Number(fields[2])];
  const startTime = fields[19] ?? '';
  return { pid, ppid, pgid, startTime, zombie: state === 'Z' || state === 'X' };
}

function processTable(): ProcessInfo[] {
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const table: ProcessInfo[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    const info = processInfo(pid);
    if (info !== undefined) table.push(info);
  }
  return table;
}

function signal(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone, or not ours to kill.
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Every supervisor that has not reaped yet, for the exit hook. */
const openSupervisors = new Set<ProcessSupervisor>();
const exitCleanups = new Set<() => void>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // `exit` listeners run on process.exit too (a second Ctrl-C): kill first, then remove files,
  // so that nothing of the layer is still running while its folder goes.
  process.on('exit', () => {
    for (const supervisor of openSupervisors) supervisor.reap();
    for (const cleanup of exitCleanups) {
      try {
        cleanup();
      } catch {
        // Best effort: the process is exiting.
      }
    }
  });
}

/**
 * Runs `cleanup` (synchronous) if the process exits before the returned
 * function is called: for temp folders that an abrupt exit would leak.
 */
export function cleanupOnExit(cleanup: () => void): () => void {
  installExitHook();
  exitCleanups.add(cleanup);
  return () => exitCleanups.delete(cleanup);
}

export class ProcessSupervisor {
  readonly runId = randomUUID();
  private readonly marker: Buffer;
  private readonly groups = new Set<number>();
  /** pid → start time, of every process known to belong to the run. */
  private readonly known = new Map<number, string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly procAvailable = fs.existsSync('/proc/self/stat');

  constructor(private readonly walkIntervalMs = 1000) {
    this.marker = Buffer.from(`${runIdVariable}=${this.runId}\0`);
    installExitHook();
    openSupervisors.add(this);
  }

  /** The environment an extension starts with: marked as this run's. */
  environment(environment: Record<string, string>): Record<string, string> {
    return { ...environment, [runIdVariable]: this.runId };
  }

  /** A started extension: the leader of its own process group. */
  adopt(pid: number): void {
    openSupervisors.add(this);
    this.groups.add(pid);
    const info = this.procAvailable ? processInfo(pid) : undefined;
    if (info !== undefined) this.known.set(pid, info.startTime);
    if (this.procAvailable && this.timer === undefined) {
      this.timer = setInterval(() => this.walk(), this.walkIntervalMs);
      this.timer.unref();
    }
  }

  /** Kills one extension's process group (the leader and the children that stayed in it). */
  killGroup(pid: number): void {
    signal(-pid);
  }

  /** Adds every descendant of a known process to the known set, so it stays known after a setsid. */
  private walk(table = processTable()): void {
    const byPid = new Map(table.map((info) => [info.pid, info]));
    for (const info of table) {
      if (this.known.has(info.pid)) continue;
      // Follow the parent chain; a cycle cannot happen in a snapshot, but the depth is bounded anyway.
      let parent = byPid.get(info.ppid);
      for (let depth = 0; parent !== undefined && depth < 64; depth += 1) {
        if (this.known.get(parent.pid) === parent.startTime) {
          this.known.set(info.pid, info.startTime);
          break;
        }
        parent = byPid.get(parent.ppid);
      }
    }
  }

  private carriesMarker(pid: number): boolean {
    try {
      return fs.readFileSync(`/proc/${pid}/environ`).includes(this.marker);
    } catch {
      return false;
    }
  }

  /** The live processes of the run, found in /proc. */
  private survivors(): ProcessInfo[] {
    const table = processTable();
    this.walk(table);
    return table.filter(
      (info) =>
        !info.zombie &&
        (this.groups.has(info.pgid) || this.known.get(info.pid) === info.startTime || this.carriesMarker(info.pid)),
    );
  }

  /**
   * SIGKILLs everything the run started, over and over until a walk of
   * /proc finds nothing: a process may fork between our walk and our kill.
   * Synchronous, so the exit hook can call it.
   */
  reap(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const pid of this.groups) signal(-pid);
    if (this.procAvailable) {
      for (let round = 0; round < 50; round += 1) {
        const survivors = this.survivors();
        if (survivors.length === 0) break;
        for (const info of survivors) signal(info.pid);
        // SIGKILL takes effect when the target next runs: give it a moment before looking again.
        Atomics.wait(pause, 0, 0, 5);
      }
    }
    openSupervisors.delete(this);
  }

  /** Whether anything of the run is still alive (Linux only; elsewhere false). */
  anyAlive(): boolean {
    return this.procAvailable && this.survivors().length > 0;
  }
}

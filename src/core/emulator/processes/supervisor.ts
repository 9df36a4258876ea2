import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import {
  processInfo,
  processTable,
  signal,
  killCgroup,
  cgroupMembers,
  removeCgroup,
  makeCgroup,
  enter,
  leave,
  type ProcessInfo,
  type Containment,
  pause,
} from './cgroup.js';

export type { Containment } from './cgroup.js';

/**
 * Every process an extension starts dies with the run. Extensions come from
 * layers users downloaded, so "the extension cleans up after itself" is no
 * guarantee: a launcher may leave a child in its process group and exit 0,
 * and a child may call setsid (new session and group), double-fork and
 * clear its environment (`env -i`), so it is in no group, carries no marker
 * and descends from nothing we know any more. So, where the machine allows:
 * - a cgroup (v2) of the run: every extension is forked inside it (ext dev
 *   steps into the cgroup for the fork and back out), and whatever it
 *   starts stays inside, setsid, double fork or not; `cgroup.kill` ends it
 *   all at once;
 * and always, the nets that need no privilege (on Linux; elsewhere only the
 * first exists):
 * - each extension runs in its own process group, killed as a whole;
 * - every process whose /proc/<pid>/environ holds this run's
 *   EXT_DEV_RUN_ID (children inherit it, setsid or not);
 * - descendants seen by a periodic /proc walk, for a child that also
 *   scrubbed its environment (known by pid and start time, so a reused pid
 *   is never killed).
 * None of that needs ext dev to run cleanup code: a watchdog (a detached
 * /bin/sh reading a pipe only ext dev holds) sees the pipe close when ext
 * dev dies in any way (SIGKILL, a heap-limit abort) and kills the cgroup,
 * the process groups and the marked processes; and the next run removes a
 * cgroup whose owner is gone.
 */

export const runIdVariable = 'EXT_DEV_RUN_ID';

/**
 * The watchdog: reads pids of process groups, one a line, until "done" (a
 * clean end: exit) or the end of the pipe (ext dev died: kill everything).
 */
const watchdogScript = `
cgroup=$1 marker=$2 groups=
while read -r line; do
  [ "$line" = done ] && exit 0
  groups="$groups $line"
done
if [ -n "$cgroup" ] && [ -d "$cgroup" ]; then
  echo 1 > "$cgroup/cgroup.kill" 2>/dev/null || for round in 1 2 3 4 5; do
    for pid in $(cat "$cgroup/cgroup.procs" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
  done
fi
for group in $groups; do kill -9 -- "-$group" 2>/dev/null; done
for file in /proc/[0-9]*/environ; do
  if grep -qzxF -- "$marker" "$file" 2>/dev/null; then pid=\${file#/proc/}; kill -9 "\${pid%/environ}" 2>/dev/null; fi
done
attempt=0
while [ -n "$cgroup" ] && [ -d "$cgroup" ] && [ $attempt -lt 100 ]; do
  rmdir "$cgroup" 2>/dev/null || sleep 0.05
  attempt=$((attempt + 1))
done
`;

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
  private cgroup: { directory: string; home: string } | undefined;
  private containment: Containment | undefined;
  private watchdog: ChildProcess | undefined;
  /** Processes stopped by `freeze`, for `thaw`. */
  private stopped = new Set<number>();

  constructor(private readonly walkIntervalMs = 1000) {
    this.marker = Buffer.from(`${runIdVariable}=${this.runId}\0`);
    installExitHook();
    openSupervisors.add(this);
  }

  /**
   * Sets up the run's containment (a cgroup where one can be made) and its
   * watchdog, once; before the first extension starts.
   */
  prepare(): Containment {
    if (this.containment !== undefined) return this.containment;
    openSupervisors.add(this);
    this.cgroup = process.platform === 'linux' ? makeCgroup() : undefined;
    this.containment =
      this.cgroup === undefined
        ? {
            kind: 'process-groups',
            description:
              process.platform === 'linux'
                ? 'CONTAINMENT process groups, a run marker in the environment and a /proc walk (no cgroup v2 could be made here): a process that calls setsid and clears its environment at once may escape'
                : 'CONTAINMENT process groups (no cgroups here): a process that calls setsid may escape',
          }
        : {
            kind: 'cgroup',
            cgroup: this.cgroup.directory,
            description: `CONTAINMENT cgroup ${this.cgroup.directory}: every process of the layer is in it and is killed with it, also if ext dev dies`,
          };
    if (process.platform === 'linux') this.startWatchdog();
    return this.containment;
  }

  private startWatchdog(): void {
    try {
      const watchdog = spawn(
        '/bin/sh',
        ['-c', watchdogScript, 'ext-dev-watchdog', this.cgroup?.directory ?? '', this.marker.toString().slice(0, -1)],
        { stdio: ['pipe', 'ignore', 'ignore'], detached: true, env: { PATH: '/usr/bin:/bin' } },
      );
      watchdog.on('error', () => (this.watchdog = undefined));
      watchdog.stdin?.on('error', () => {});
      watchdog.unref();
      (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
      this.watchdog = watchdog;
    } catch {
      this.watchdog = undefined;
    }
  }

  /**
   * Runs `start` (which must fork synchronously, as child_process.spawn does)
   * with ext dev inside the run's cgroup, so that the child is born in it.
   */
  contain<T>(start: () => T): T {
    const cgroup = this.cgroup;
    if (cgroup === undefined || !enter(cgroup)) return start();
    try {
      return start();
    } finally {
      if (!leave(cgroup)) {
        // ext dev could not step back out: killing the cgroup would kill ext dev itself. Use the other nets.
        this.cgroup = undefined;
      }
    }
  }

  /** The environment an extension starts with: marked as this run's. */
  environment(environment: Record<string, string>): Record<string, string> {
    return { ...environment, [runIdVariable]: this.runId };
  }

  /** A started extension: the leader of its own process group. */
  adopt(pid: number): void {
    openSupervisors.add(this);
    this.groups.add(pid);
    this.watchdog?.stdin?.write(`${pid}\n`);
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
    if (this.cgroup !== undefined) killCgroup(this.cgroup.directory);
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
    // The watchdog removes the cgroup if it is still busy (a killed process leaves it once reaped).
    const removed = this.cgroup === undefined || removeCgroup(this.cgroup.directory, 4);
    if (this.watchdog?.stdin?.writable === true) this.watchdog.stdin.end(removed ? 'done\n' : '');
    this.watchdog = undefined;
    this.cgroup = undefined;
    openSupervisors.delete(this);
  }

  /** Every live process of the run: the cgroup's, and what the other nets find. */
  private members(): number[] {
    const pids = new Set<number>(this.cgroup === undefined ? [] : cgroupMembers(this.cgroup.directory));
    if (this.procAvailable) for (const info of this.survivors()) pids.add(info.pid);
    return [...pids];
  }

  /**
   * SIGSTOPs every process of the run, as Lambda freezes an idle
   * environment; again until no new one shows up (one may fork meanwhile).
   * Returns how many were stopped.
   */
  freeze(): number {
    for (const pid of this.groups) signal(-pid, 'SIGSTOP');
    for (let round = 0; round < 10; round += 1) {
      const fresh = this.members().filter((pid) => !this.stopped.has(pid));
      if (fresh.length === 0) break;
      for (const pid of fresh) {
        signal(pid, 'SIGSTOP');
        this.stopped.add(pid);
      }
    }
    return this.procAvailable ? this.stopped.size : this.groups.size;
  }

  /** SIGCONTs what `freeze` stopped. */
  thaw(): void {
    for (const pid of this.groups) signal(-pid, 'SIGCONT');
    for (const pid of new Set([...this.stopped, ...this.members()])) signal(pid, 'SIGCONT');
    this.stopped = new Set();
  }

  /** Whether anything of the run is still alive (Linux only; elsewhere false). */
  anyAlive(): boolean {
    return this.procAvailable && this.survivors().length > 0;
  }
}

import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ContainmentReport } from '../types.js';

/**
 * The machine-level pieces of containment (see supervisor.ts): the /proc
 * process table, and the run's cgroup (v2) where the machine allows one.
 */

/** A short synchronous sleep: Atomics.wait on a buffer nobody notifies. */
export const pause = new Int32Array(new SharedArrayBuffer(4));

export interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  startTime: string;
  zombie: boolean;
}

export function processInfo(pid: number): ProcessInfo | undefined {
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

export function processTable(): ProcessInfo[] {
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

export function signal(pid: number, name: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone, or not ours to kill.
  }
}

/** How the run holds its processes: reported once per run, in the timeline and the report. */
export interface Containment extends ContainmentReport {
  /** One line for the timeline. */
  description: string;
}

export const cgroupPrefix = 'ext-dev-';

/** Where the cgroup v2 hierarchy is mounted, from /proc/self/mountinfo. */
export function cgroup2Mount(): string | undefined {
  let mountinfo: string;
  try {
    mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of mountinfo.split('\n')) {
    const [before, after] = line.split(' - ');
    if (after?.split(' ')[0] === 'cgroup2') return before?.split(' ')[4];
  }
  return undefined;
}

/** This process's cgroup v2 folder, or undefined. */
export function ownCgroup(mount: string): string | undefined {
  try {
    const line = fs
      .readFileSync('/proc/self/cgroup', 'utf8')
      .split('\n')
      .find((candidate) => candidate.startsWith('0::'));
    return line === undefined ? undefined : path.join(mount, line.slice(3));
  } catch {
    return undefined;
  }
}

export function startTimeOf(pid: number): string | undefined {
  return processInfo(pid)?.startTime;
}

/** Kills everything in a cgroup: at once with cgroup.kill (Linux 5.14+), else pid by pid. */
export function killCgroup(directory: string): void {
  try {
    fs.writeFileSync(path.join(directory, 'cgroup.kill'), '1');
    return;
  } catch {
    // No cgroup.kill: one by one, until none is left.
  }
  for (let round = 0; round < 50; round += 1) {
    const pids = cgroupMembers(directory);
    if (pids.length === 0) return;
    for (const pid of pids) signal(pid);
    Atomics.wait(pause, 0, 0, 5);
  }
}

export function cgroupMembers(directory: string): number[] {
  try {
    return fs
      .readFileSync(path.join(directory, 'cgroup.procs'), 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map(Number);
  } catch {
    return [];
  }
}

/** rmdir, retried briefly: a killed process leaves its cgroup once it is reaped. */
export function removeCgroup(directory: string, attempts = 20): boolean {
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    try {
      fs.rmdirSync(directory);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
      Atomics.wait(pause, 0, 0, 5);
    }
  }
  return false;
}

/**
 * The owner's identity in a cgroup's name: pid namespace, pid and start time.
 * A pid and start time mean something only in their own pid namespace, and
 * runs in other namespaces (containers, `unshare --pid`) share the cgroup tree.
 */
export function ownerTag(pid: number): string {
  let namespace = '0';
  try {
    namespace = /\[(\d+)\]/u.exec(fs.readlinkSync('/proc/self/ns/pid'))?.[1] ?? '0';
  } catch {
    // No /proc/self/ns: every run looks alike, and only empty cgroups are swept.
  }
  return `${namespace}-${pid}-${startTimeOf(pid) ?? 0}`;
}

export function olderThanAnHour(directory: string): boolean {
  try {
    return Date.now() - fs.statSync(directory).mtimeMs > 3_600_000;
  } catch {
    return false;
  }
}

/**
 * Removes the cgroups of earlier runs whose ext dev is gone (killed before it
 * could clean up, and its watchdog too). Only a run of this pid namespace can
 * be known to be gone; another namespace's cgroup is removed only when empty.
 */
export function sweepStaleCgroups(parent: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return;
  }
  const ours = ownerTag(process.pid).split('-')[0];
  for (const name of names) {
    const match = new RegExp(`^${cgroupPrefix}(\\d+)-(\\d+)-(\\d+)-`).exec(name);
    if (match === null) continue;
    const directory = path.join(parent, name);
    if (match[1] !== ours || match[1] === '0') {
      // A live run's cgroup is empty between its creation and its first extension: wait an hour.
      if (cgroupMembers(directory).length === 0 && olderThanAnHour(directory)) removeCgroup(directory, 1);
      continue;
    }
    if (startTimeOf(Number(match[2])) === match[3]) continue;
    killCgroup(directory);
    removeCgroup(directory, 2);
  }
}

/**
 * The run's cgroup, made under ext dev's own one, or undefined where none can
 * be made or entered (cgroup v1 only, no write access, not Linux). Proven by
 * stepping into it and back out once.
 */
export function makeCgroup(): { directory: string; home: string } | undefined {
  const mount = cgroup2Mount();
  const home = mount === undefined ? undefined : ownCgroup(mount);
  if (home === undefined) return undefined;
  try {
    fs.accessSync(path.join(home, 'cgroup.procs'), fs.constants.W_OK);
  } catch {
    return undefined;
  }
  sweepStaleCgroups(home);
  const directory = path.join(home, `${cgroupPrefix}${ownerTag(process.pid)}-${randomUUID().slice(0, 8)}`);
  try {
    fs.mkdirSync(directory);
  } catch {
    return undefined;
  }
  const cgroup = { directory, home };
  if (!enter(cgroup) || !leave(cgroup)) {
    removeCgroup(directory, 2);
    return undefined;
  }
  return cgroup;
}

export function enter(cgroup: { directory: string }): boolean {
  try {
    fs.writeFileSync(path.join(cgroup.directory, 'cgroup.procs'), String(process.pid));
    return true;
  } catch {
    return false;
  }
}

/** Back to ext dev's own cgroup; true only when /proc says it is there. */
export function leave(cgroup: { home: string }): boolean {
  try {
    fs.writeFileSync(path.join(cgroup.home, 'cgroup.procs'), String(process.pid));
  } catch {
    // Checked below.
  }
  const mount = cgroup2Mount();
  return mount !== undefined && ownCgroup(mount) === cgroup.home;
}

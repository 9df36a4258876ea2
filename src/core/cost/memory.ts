import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Memory as Linux accounts it per process: VmHWM (the peak resident set
 * since the process started) and VmRSS (now), from /proc/<pid>/status, and
 * a cgroup's memory.peak when the run has a cgroup. Zero off Linux.
 */

const kibibytesPerMebibyte = 1024;

function statusField(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return 0;
  }
  const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'mu').exec(status);
  return match === null ? 0 : Number(match[1]);
}

/** The summed peak resident memory (VmHWM) of the processes, in MiB. */
export function peakResidentMiB(pids: readonly number[]): number {
  return pids.reduce((total, pid) => total + statusField(pid, 'VmHWM'), 0) / kibibytesPerMebibyte;
}

/** The summed resident memory now (VmRSS) of the processes, in MiB. */
export function residentMiB(pids: readonly number[]): number {
  return pids.reduce((total, pid) => total + statusField(pid, 'VmRSS'), 0) / kibibytesPerMebibyte;
}

/** Parent of every live process, read once from /proc (empty off Linux). */
function parents(): Map<number, number> {
  const table = new Map<number, number>();
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return table;
  }
  for (const name of names) {
    if (!/^\d+$/u.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // The command name is in parentheses and may hold spaces: the fields start after the last one.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      table.set(Number(name), ppid);
    } catch {
      // Gone meanwhile.
    }
  }
  return table;
}

/** The processes and all their descendants (an extension's launcher may start node, node may start helpers). */
export function withDescendants(roots: readonly number[]): number[] {
  const table = parents();
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of table) {
    const list = children.get(ppid) ?? [];
    list.push(pid);
    children.set(ppid, list);
  }
  const found = new Set<number>();
  const queue = roots.filter((pid) => table.has(pid));
  while (queue.length > 0) {
    const pid = queue.pop()!;
    if (found.has(pid)) continue;
    found.add(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return [...found];
}

/** Processes this one started, directly or not: the environment's, once those started before are left out. */
export function ownDescendants(): number[] {
  return withDescendants([process.pid]).filter((pid) => pid !== process.pid);
}

/** A cgroup's memory.peak (cgroup v2, Linux 5.19+) in MiB, or undefined where it cannot be read. */
export function cgroupPeakMiB(cgroup: string): number | undefined {
  try {
    const bytes = Number(readFileSync(path.join(cgroup, 'memory.peak'), 'utf8').trim());
    return Number.isFinite(bytes) ? bytes / (kibibytesPerMebibyte * kibibytesPerMebibyte) : undefined;
  } catch {
    return undefined;
  }
}

import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/*
 * One factor for every wall-clock limit in the tests (test timeouts, kill timers, "within N ms" assertions), so that
 * the suite passes on a loaded or slow machine: the numbers written in the tests are what a quiet 2-core machine
 * needs, and `scaled(ms)` stretches them by the factor.
 *
 * - TEST_TIME_SCALE=3 sets it (any number >= 1);
 * - otherwise it is measured once per test run: a short busy loop, whose wall time over CPU time says how many
 *   runnable processes share each core right now, and the 1-minute load average per core, whichever is higher,
 *   between 1 and 10. Each test file runs in its own process; the first to start measures and leaves the factor
 *   in a file keyed by the test runner's process, so all of a run's files use the same one.
 *
 * This is not the emulator's own factor (src/core/emulator/cpu-emulation: Lambda's limits stretched under qemu);
 * it never changes what the product does, only how long a test waits for it.
 */

const maximumFactor = 10;

function fromEnvironment(): number | undefined {
  const text = process.env['TEST_TIME_SCALE'];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 1) {
    throw new Error(`TEST_TIME_SCALE=${text}: expected a number of at least 1 (the factor for the tests' time limits)`);
  }
  return value;
}

/** Wall time over CPU time of a ~100 ms busy loop: 1 on an idle core, n when n runnable processes share it. */
export function measureContention(spinMs = 100): number {
  const wallStart = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  let sink = 0;
  while (Number(process.hrtime.bigint() - wallStart) / 1e6 < spinMs) {
    for (let index = 0; index < 10_000; index += 1) sink = (sink + index * 31) % 1_000_003;
  }
  const wallMs = Number(process.hrtime.bigint() - wallStart) / 1e6;
  const cpu = process.cpuUsage(cpuStart);
  const cpuMs = (cpu.user + cpu.system) / 1000 + (sink < 0 ? 1 : 0);
  return cpuMs > 0 ? wallMs / cpuMs : maximumFactor;
}

/** The factor for the present machine: contention or load per core, whichever is higher, within [1, 10]. */
export function measureTimeScale(): number {
  const cores = Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  const loadPerCore = (os.loadavg()[0] ?? 0) / cores;
  const factor = Math.max(1, measureContention(), loadPerCore);
  return Math.min(maximumFactor, Math.ceil(factor * 10) / 10);
}

/** The runner's identity: its pid and, on Linux, its start time, so that a reused pid does not reuse a factor. */
function runnerKey(): string {
  let started = '';
  try {
    started = readFileSync(`/proc/${process.ppid}/stat`, 'utf8').split(') ')[1]?.split(' ')[19] ?? '';
  } catch {
    // Not Linux: the pid alone.
  }
  return `${process.ppid}-${started}`;
}

function sharedMeasurement(): number {
  const file = path.join(os.tmpdir(), `cle-test-time-scale-${runnerKey()}.json`);
  try {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { factor?: unknown };
    if (typeof stored.factor === 'number' && stored.factor >= 1) return stored.factor;
  } catch {
    // First file of this run: measure.
  }
  const factor = measureTimeScale();
  try {
    const temporary = `${file}.${process.pid}`;
    writeFileSync(temporary, JSON.stringify({ factor, measuredAt: new Date().toISOString() }));
    renameSync(temporary, file);
  } catch {
    // A read-only tmp only costs the next file its own measurement.
  }
  return factor;
}

/** The factor every time limit in the tests is multiplied by (see above). */
export const timeScale: number = fromEnvironment() ?? sharedMeasurement();

/** `ms` stretched by the run's factor: use it for every limit on wall-clock time in a test. */
export function scaled(ms: number): number {
  return Math.round(ms * timeScale);
}

import { spawn } from 'node:child_process';

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Runs a command to completion and returns its wall time in ms; a failure stops the bench. */
export function timeCommand(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
      if (code === 0) resolve(elapsed);
      else reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`));
    });
  });
}

export interface PairedResult {
  /** Median of the per-pair ratios A/B: noise that hits both halves of a pair cancels out. */
  ratio: number;
  medianMs: number;
  baselineMedianMs: number;
  runs: number;
}

/**
 * Measures A against B pair by pair (A B A B …) so that drift in machine load
 * affects both sides alike, after `warmup` untimed rounds.
 */
export async function paired(
  runs: number,
  subject: () => Promise<number>,
  baseline: () => Promise<number>,
  warmup = 1,
): Promise<PairedResult> {
  for (let index = 0; index < warmup; index += 1) {
    await subject();
    await baseline();
  }
  const subjectTimes: number[] = [];
  const baselineTimes: number[] = [];
  const ratios: number[] = [];
  for (let index = 0; index < runs; index += 1) {
    const a = await subject();
    const b = await baseline();
    subjectTimes.push(a);
    baselineTimes.push(b);
    ratios.push(a / b);
  }
  return { ratio: median(ratios), medianMs: median(subjectTimes), baselineMedianMs: median(baselineTimes), runs };
}

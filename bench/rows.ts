/** What every bench module shares: where the bins are, how many runs, and the rows of the table. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PairedResult } from './measure.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const createBin = path.join(root, 'bin', 'create-lambda-extension.js');
export const extBin = path.join(root, 'bin', 'ext.js');
export const node = process.execPath;
export const quick = process.argv.includes('--quick');
export const runs = (count: number): number => (quick ? Math.max(2, Math.ceil(count / 3)) : count);

export interface Row {
  figure: string;
  baseline: string;
  /** subject / baseline, median of pairs; absent for absolute figures. */
  ratio?: number;
  medianMs?: number;
  baselineMedianMs?: number;
  /** For ratios of something other than time: the two medians, in `unit`. */
  median?: number;
  baselineMedian?: number;
  value?: number;
  unit?: string;
  target: string;
  met: boolean | null;
  note?: string;
}

export const rows: Row[] = [];
export const log = (message: string): void => void process.stderr.write(`bench: ${message}\n`);

export function ratioRow(figure: string, baseline: string, result: PairedResult, limit: number, note?: string): void {
  rows.push({
    figure,
    baseline,
    ratio: result.ratio,
    medianMs: result.medianMs,
    baselineMedianMs: result.baselineMedianMs,
    target: `≤ ${limit}×`,
    met: result.ratio <= limit,
    ...(note === undefined ? {} : { note }),
  });
}

export function absoluteRow(
  figure: string,
  value: number,
  unit: string,
  target: string,
  met: boolean | null,
  note?: string,
): void {
  rows.push({ figure, baseline: 'none (absolute)', value, unit, target, met, ...(note === undefined ? {} : { note }) });
}

export function formatRow(row: Row): string {
  const number = (value: number | undefined, digits = 2) => (value === undefined ? '' : value.toFixed(digits));
  const measured = row.ratio !== undefined ? `${number(row.ratio)}×` : `${number(row.value)} ${row.unit ?? ''}`;
  const absolute =
    row.medianMs !== undefined
      ? `${number(row.medianMs, row.medianMs < 10 ? 2 : 1)} ms vs ${number(row.baselineMedianMs, row.medianMs < 10 ? 2 : 1)} ms`
      : row.median !== undefined
        ? `${number(row.median, 1)} vs ${number(row.baselineMedian, 1)} ${row.unit ?? ''}`
        : (row.note ?? '');
  const verdict = row.met === null ? '' : row.met ? 'met' : '**missed**';
  return `| ${row.figure} | ${row.baseline} | ${measured} | ${absolute} | ${row.target} | ${verdict} |`;
}

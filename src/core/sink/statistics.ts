/** Percentiles of durations, as the sink report gives them. */

/** The nearest-rank percentile (`fraction` 0.5 for p50, 0.99 for p99) of `values`; undefined when there are none. */
export function percentile(values: readonly number[], fraction: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((left, right) => left - right);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(fraction * sorted.length)));
  return sorted[rank - 1];
}

/** Rounded to 0.1 ms: the clocks behind these figures are not finer than that. */
export function roundMs(value: number): number {
  return Math.round(value * 10) / 10;
}

export interface Distribution {
  p50: number;
  p99: number;
  max: number;
}

/** p50, p99 and max, or undefined when there is nothing to describe. */
export function distribution(values: readonly number[]): Distribution | undefined {
  const p50 = percentile(values, 0.5);
  const p99 = percentile(values, 0.99);
  if (p50 === undefined || p99 === undefined) return undefined;
  return { p50: roundMs(p50), p99: roundMs(p99), max: roundMs(Math.max(...values)) };
}

/**
 * The statistics `ext cost` reports: percentiles by nearest rank (so every
 * figure is one that was measured), and a least-squares line for the soak.
 */

export interface Summary {
  count: number;
  min: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/**
 * The nearest-rank percentile: the smallest measured value with at least `percent` % of the values at or below
 * it. With fewer than 100 values, p99 is the maximum: the figure never claims a precision the sample lacks.
 */
export function percentile(values: readonly number[], percent: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((percent / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0)
    return { count: 0, min: Number.NaN, p50: Number.NaN, p99: Number.NaN, max: Number.NaN, mean: Number.NaN };
  let min = Infinity;
  let max = -Infinity;
  let total = 0;
  for (const value of values) {
    min = Math.min(min, value);
    max = Math.max(max, value);
    total += value;
  }
  return {
    count: values.length,
    min,
    p50: percentile(values, 50),
    p99: percentile(values, 99),
    max,
    mean: total / values.length,
  };
}

export interface LinearFit {
  /** Change of y per unit of x. */
  slope: number;
  intercept: number;
  /** Coefficient of determination: 1 when the points lie on the line, near 0 when the line explains nothing. */
  rSquared: number;
}

/** Ordinary least squares of y on x; slope 0 and rSquared 0 for fewer than two distinct x. */
export function leastSquares(xs: readonly number[], ys: readonly number[]): LinearFit {
  const count = Math.min(xs.length, ys.length);
  if (count < 2) return { slope: 0, intercept: ys[0] ?? 0, rSquared: 0 };
  let meanX = 0;
  let meanY = 0;
  for (let index = 0; index < count; index += 1) {
    meanX += xs[index]!;
    meanY += ys[index]!;
  }
  meanX /= count;
  meanY /= count;
  let covariance = 0;
  let varianceX = 0;
  let varianceY = 0;
  for (let index = 0; index < count; index += 1) {
    const dx = xs[index]! - meanX;
    const dy = ys[index]! - meanY;
    covariance += dx * dy;
    varianceX += dx * dx;
    varianceY += dy * dy;
  }
  if (varianceX === 0) return { slope: 0, intercept: meanY, rSquared: 0 };
  const slope = covariance / varianceX;
  const rSquared = varianceY === 0 ? 0 : (covariance * covariance) / (varianceX * varianceY);
  return { slope, intercept: meanY - slope * meanX, rSquared };
}

/**
 * `value / floor`, or null when the floor is not a positive number (a ratio to nothing says nothing) or the value
 * is negative (an Init "added" below zero is noise: the layer cannot make Init shorter).
 */
export function ratio(value: number, floor: number): number | null {
  if (!Number.isFinite(value) || !Number.isFinite(floor) || floor <= 0 || value < 0) return null;
  return value / floor;
}

/** Rounds to `digits` decimals, for reports: the same rounding in the text, the JSON and the page. */
export function rounded(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

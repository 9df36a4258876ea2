/**
 * Wall-clock time in milliseconds with sub-millisecond precision, on the same epoch as Date.now(). Lambda
 * reports durations to the hundredth of a millisecond; a post-runtime time read with Date.now() is a whole
 * number, and a 0.4 ms extension would read as 0 or 1 ms.
 */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

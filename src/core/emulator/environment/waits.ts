/**
 * Waiting on the environment's state: a wait holds a predicate and ends
 * when it holds (re-checked at every change), at its deadline, or when the
 * run is interrupted. RIE waits on its gates (core/gates.go) the same way.
 */
export class Waits {
  private readonly waiters = new Set<() => void>();

  constructor(private readonly signal: AbortSignal | undefined) {}

  /** Something changed: every wait checks its predicate again. */
  changed(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  /**
   * Resolves true when the predicate holds, false at the deadline. An
   * interruptible wait (Init, an invoke) also ends when the run's signal
   * aborts: Ctrl-C must not wait out a hung Init or a long function.
   */
  until(predicate: () => boolean, deadline: number, interruptible = false): Promise<boolean> {
    // A deadline already reached (a zero-duration handler) needs no timer: setTimeout(0) waits a
    // millisecond or more, which was half of what an invoke costs the emulator.
    if (deadline <= Date.now()) return Promise.resolve(predicate());
    return new Promise((resolve) => {
      const signal = interruptible ? this.signal : undefined;
      const finish = (value: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        signal?.removeEventListener('abort', interrupt);
        resolve(value);
      };
      const interrupt = () => finish(predicate());
      const check = () => {
        if (predicate()) finish(true);
      };
      // Timers may fire a hair early by the wall clock; a simulated 300 ms handler must never last 299.
      const expire = (): void => {
        const left = deadline - Date.now();
        if (left > 0) timer = setTimeout(expire, left);
        else finish(predicate());
      };
      let timer = setTimeout(expire, Math.max(0, deadline - Date.now()));
      this.waiters.add(check);
      signal?.addEventListener('abort', interrupt);
      check();
      if (signal?.aborted === true) interrupt();
    });
  }
}

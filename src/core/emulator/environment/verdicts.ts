import type { Verdict, VerdictKind } from '../types.js';

/**
 * The verdicts of a run. A refused registration or an invalid event type
 * does not end a phase by itself (on Lambda the process then usually exits
 * or never registers); every other verdict does.
 */

/** Non-fatal verdicts come from requests, so a looping extension could make millions: keep this many. */
export const maxNonFatalVerdicts = 100;

export const isFatal = (kind: VerdictKind): boolean => kind !== 'invalid-event-type' && kind !== 'registration-refused';

export class VerdictLog {
  private readonly list: Verdict[] = [];
  private nonFatal = 0;

  get all(): readonly Verdict[] {
    return this.list;
  }

  /** A point to compare against later with `since` and `failedSince`. */
  get mark(): number {
    return this.list.length;
  }

  /**
   * Adds a verdict; false when it was left out (past the non-fatal cap).
   * `onFirstLeftOut` runs once, the first time one is left out.
   */
  add(verdict: Verdict, onFirstLeftOut: () => void): boolean {
    if (!isFatal(verdict.kind)) {
      this.nonFatal += 1;
      if (this.nonFatal > maxNonFatalVerdicts) {
        if (this.nonFatal === maxNonFatalVerdicts + 1) onFirstLeftOut();
        return false;
      }
    }
    this.list.push(verdict);
    return true;
  }

  /** Any verdict since `mark`. */
  since(mark: number): boolean {
    return this.list.length > mark;
  }

  /** A verdict since `mark` that ends the phase. */
  failedSince(mark: number): boolean {
    return this.list.slice(mark).some((verdict) => isFatal(verdict.kind));
  }

  of(extension: string): Verdict[] {
    return this.list.filter((verdict) => verdict.extension === extension);
  }
}

import type { TimelineEntry } from './types.js';

/** `[+  123 ms] START RequestId: …`: the CLI's rendering of one timeline entry. */
export function formatTimelineEntry(entry: TimelineEntry): string {
  const elapsed = `+${entry.elapsedMs} ms`.padStart(10);
  return `[${elapsed}] ${entry.text}`;
}

import { printableLine } from '../text.js';
import type { TimelineEntry } from './types.js';

/** Output lines are already cut at 16 KiB; this only bounds what a note or verdict could carry. */
const maxPrintedTextLength = 32 * 1024;

/**
 * `[+  123 ms] START RequestId: …`: the CLI's rendering of one timeline entry.
 * The text may hold what a layer sent (its output, extension names, error
 * bodies), so control characters are escaped: an ESC or CR cannot drive the terminal.
 */
export function formatTimelineEntry(entry: TimelineEntry): string {
  const elapsed = `+${entry.elapsedMs} ms`.padStart(10);
  return `[${elapsed}] ${printableLine(entry.text, maxPrintedTextLength)}`;
}

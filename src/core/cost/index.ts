/**
 * `ext cost`: what an extension layer costs the function (Init added,
 * post-runtime time, function duration, memory), each against a null
 * extension of its language; the soak, the budgets, the page and the trace.
 */
export { checkBudgets, describeBudget } from './budgets.js';
export { buildNullLayer, emptyLayer, nullExtensionName } from './null-extension.js';
export { renderCostHtml } from './html.js';
export { defaultColdStarts, defaultCostFunctionDurationMs, defaultInvokes, runCost } from './run.js';
export {
  analyseSoak,
  memoryGrowthThresholdMiBPer1000,
  postRuntimeDriftThresholdMsPer1000,
  soakBehaviour,
  warmupInvokes,
} from './soak.js';
export { leastSquares, percentile, ratio, summarize, type LinearFit, type Summary } from './stats.js';
export { figureRows, formatCostReport, formatFigure } from './text.js';
export { stampedFromReport, timelineSpans } from './timeline.js';
export { chromeTrace, writeFileAtomically, writeTimelineTrace, type ChromeTrace, type TraceEvent } from './trace.js';
export type * from './types.js';

import { renderCostHtml } from './html.js';
import { chromeTrace, writeFileAtomically } from './trace.js';
import type { CostReport } from './types.js';

/** Writes the report's page (--html) and trace (--trace), each through a temporary file. */
export async function writeCostOutputs(
  report: CostReport,
  outputs: { html?: string | undefined; trace?: string | undefined },
): Promise<void> {
  if (outputs.html !== undefined) await writeFileAtomically(outputs.html, renderCostHtml(report), '--html');
  if (outputs.trace !== undefined) {
    await writeFileAtomically(
      outputs.trace,
      `${JSON.stringify(chromeTrace(report.timeline, `ext cost: ${report.layer}`))}\n`,
      '--trace',
    );
  }
}

import { costBudgetFields } from '../config.js';
import { rounded } from './stats.js';
import type { BudgetResult, CostBudgets, CostFigures } from './types.js';

/** `ext cost --check`: each budget of lambda-extension.json's "cost" against its figure. */

const units: Record<keyof CostBudgets, 'ms' | 'MiB'> = { initAddedMs: 'ms', postRuntimeP99Ms: 'ms', peakRssMiB: 'MiB' };

/** The figure each budget bounds. */
export function budgetedFigure(name: keyof CostBudgets, figures: CostFigures, soakPeakMiB = 0): number {
  switch (name) {
    case 'initAddedMs':
      return figures.initAddedMs.p50;
    case 'postRuntimeP99Ms':
      return figures.postRuntimeMs.p99;
    case 'peakRssMiB':
      // The soak runs longest: its peak, when higher, is the one a long-lived environment reaches.
      return Math.max(figures.memory.extensionPeakMiB, soakPeakMiB);
  }
}

export function checkBudgets(
  budgets: CostBudgets,
  figures: CostFigures,
  soakPeakMiB?: number,
): { results: BudgetResult[]; passed: boolean } {
  const results: BudgetResult[] = [];
  for (const name of costBudgetFields) {
    const budget = budgets[name];
    if (budget === undefined) continue;
    const measured = rounded(budgetedFigure(name, figures, soakPeakMiB), 2);
    results.push({ name, budget, measured, unit: units[name], exceeded: !(measured <= budget) });
  }
  return { results, passed: results.every((result) => !result.exceeded) };
}

export function describeBudget(result: BudgetResult): string {
  const label =
    result.name === 'initAddedMs'
      ? 'init added (p50)'
      : result.name === 'postRuntimeP99Ms'
        ? 'post-runtime p99'
        : 'peak RSS';
  return `${label} ${result.measured} ${result.unit} ${result.exceeded ? '>' : '<='} budget ${result.budget} ${result.unit}`;
}

import { describeBudget } from './budgets.js';
import { ratio, type Summary } from './stats.js';
import type { CostReport, SoakReport } from './types.js';

/**
 * The report as a terminal table: each figure with the layer, the null
 * extension (the floor) and their ratio. The page (html.ts) shows the same
 * numbers through the same `formatFigure`.
 */

/** Two decimals, as the text and the page show every figure; "—" for a ratio to a zero floor. */
export function formatFigure(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return value.toFixed(2);
}

export function formatRatio(value: number | null): string {
  return value === null ? '—' : `×${formatFigure(value)}`;
}

/** The rows of the table: [figure, layer, null floor, ratio], values already formatted. */
export function figureRows(
  report: CostReport,
): { key: string; label: string; layer: string; floor: string; ratio: string; unit: string }[] {
  const { figures } = report;
  const pair = (key: string, label: string, layer: number, floor: number, ratio: number | null, unit: string) => ({
    key,
    label,
    layer: formatFigure(layer),
    floor: formatFigure(floor),
    ratio: formatRatio(ratio),
    unit,
  });
  const summaries = (
    key: string,
    label: string,
    layer: Summary,
    floor: Summary,
    ratio: number | null,
    which: ('p50' | 'p99' | 'max')[],
  ) =>
    which.map((stat) =>
      pair(
        `${key}.${stat}`,
        `${label} ${stat}`,
        layer[stat],
        floor[stat],
        stat === 'p50' ? ratio : ratioOrNull(layer[stat], floor[stat]),
        'ms',
      ),
    );
  return [
    ...summaries(
      'initAddedMs',
      'init added',
      figures.initAddedMs,
      figures.initAddedMs.nullAdded,
      figures.initAddedMs.ratioToNull,
      ['p50', 'p99'],
    ),
    ...summaries(
      'postRuntimeMs',
      'post-runtime',
      figures.postRuntimeMs,
      figures.postRuntimeMs.null,
      figures.postRuntimeMs.ratioToNull,
      ['p50', 'p99', 'max'],
    ),
    pair(
      'functionMs.p50',
      'function duration p50',
      figures.functionMs.layer.p50,
      figures.functionMs.null.p50,
      figures.functionMs.ratioToNull,
      'ms',
    ),
    pair(
      'memory.extensionPeakMiB',
      'extension peak RSS',
      figures.memory.extensionPeakMiB,
      figures.memory.nullExtensionPeakMiB,
      figures.memory.ratioToNull,
      'MiB',
    ),
    pair(
      'memory.environmentPeakMiB',
      'environment peak RSS',
      figures.memory.environmentPeakMiB.layer,
      figures.memory.environmentPeakMiB.null,
      figures.memory.environmentRatioToNull,
      'MiB',
    ),
  ];
}

function ratioOrNull(value: number, floor: number): number | null {
  const result = ratio(value, floor);
  return result === null ? null : Math.round(result * 1000) / 1000;
}

export function describeRun(report: CostReport): string {
  const language = report.language === 'go' ? 'Go' : 'TypeScript';
  const mode = report.computeMode === 'on-demand' ? 'on demand' : 'Managed Instances';
  const handler =
    report.function === 'simulated' ? `simulated handler, ${report.functionDurationMs} ms` : report.function;
  return `${report.layer} (${language}, ${mode}, ${handler}): ${report.coldStarts} cold starts and ${report.invokes} invokes each, with the layer, with the null ${language} extension and with no extension, interleaved`;
}

/** What the soak drove the extension with. */
export function describeLoad(load: SoakReport['load']): string {
  if (load.largePayloads > 0) return `${load.largePayloads} events of 1 MiB to the function`;
  return `${load.logLines} log lines, ${formatFigure(load.logBytes / 1024 / 1024)} MiB, lines up to ${Math.round(load.largestLineBytes / 1024)} KiB`;
}

export function formatCostReport(report: CostReport): string {
  const rows = figureRows(report);
  const header = ['figure', 'layer', 'null floor', 'ratio'];
  const cells = rows.map((row) => [row.label, `${row.layer} ${row.unit}`, `${row.floor} ${row.unit}`, row.ratio]);
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((cell) => cell[column]!.length)));
  const line = (cell: string[]) =>
    cell
      .map((text, column) => (column === 0 ? text.padEnd(widths[column]!) : text.padStart(widths[column]!)))
      .join('  ');
  const { figures } = report;
  const memory = figures.memory;
  const lines = [
    `ext cost: ${describeRun(report)}`,
    '',
    line(header),
    ...cells.map(line),
    '',
    `function duration change with the layer: ${figures.functionMs.changeMs >= 0 ? '+' : ''}${formatFigure(figures.functionMs.changeMs)} ms (${figures.functionMs.changePercent >= 0 ? '+' : ''}${formatFigure(figures.functionMs.changePercent)} %) against no extension`,
    `memory: the extensions take ${formatFigure(memory.extensionPeakMiB)} MiB at their peak, ${formatFigure(memory.shareOfFunctionPercent)} % of the function's ${memory.memorySizeMB} MB; the environment ${formatFigure(memory.environmentPeakMiB.layer)} MiB with the layer, ${formatFigure(memory.environmentPeakMiB.none)} MiB without${memory.cgroupPeakMiB === undefined ? '' : ` (cgroup memory.peak ${formatFigure(memory.cgroupPeakMiB)} MiB)`}`,
  ];
  if (report.computeMode === 'on-demand') {
    lines.push(
      `post-runtime time includes the emulator's own bookkeeping: ${formatFigure(figures.postRuntimeMs.none.p50)} ms (p50) with no extension`,
    );
  }
  if (memory.extensions.length > 1) {
    lines.push(
      `per extension: ${memory.extensions.map((extension) => `${extension.name} ${formatFigure(extension.peakMiB)} MiB`).join(', ')}`,
    );
  }
  if (report.computeMode === 'managed-instances') {
    lines.push('Managed Instances send extensions no INVOKE: post-runtime time is 0 by definition');
  }
  const { soak, budgets } = report;
  if (soak !== undefined) {
    lines.push(
      '',
      `soak: ${soak.invokes} invokes in ${formatFigure(soak.durationMs / 1000)} s (${describeLoad(soak.load)}), first ${soak.warmupInvokes} as warm-up`,
      `  memory: peak ${formatFigure(soak.extensionPeakMiB)} MiB; ${formatFigure(soak.memory.firstQuarter)} → ${formatFigure(soak.memory.lastQuarter)} MiB, slope ${formatFigure(soak.memory.slopePer1000)} MiB per 1,000 invokes (threshold ${formatFigure(soak.memory.thresholdPer1000)}, r² ${formatFigure(soak.memory.rSquared)}): ${soak.memory.failed ? 'GROWING' : 'steady'}`,
      `  post-runtime: median ${formatFigure(soak.postRuntime.firstQuarter)} → ${formatFigure(soak.postRuntime.lastQuarter)} ms, slope ${formatFigure(soak.postRuntime.slopePer1000)} ms per 1,000 invokes (threshold ${formatFigure(soak.postRuntime.thresholdPer1000)}): ${soak.postRuntime.failed ? 'DRIFTING' : 'steady'}`,
      ...soak.verdicts.map((verdict) => `  FAILED ${verdict.kind}: ${verdict.message}`),
    );
  }
  if (budgets !== undefined) {
    lines.push(
      '',
      'budgets (lambda-extension.json "cost"):',
      ...budgets.results.map((result) => `  ${result.exceeded ? 'EXCEEDED' : 'ok'}  ${describeBudget(result)}`),
    );
  }
  lines.push('', report.status === 'passed' ? 'passed' : 'failed');
  return `${lines.join('\n')}\n`;
}

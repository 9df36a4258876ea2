import { describeBudget } from './budgets.js';
import { describeLoad, describeRun, figureRows, formatFigure } from './text.js';
import { lambdaTrack, postRuntimeTrack, runtimeTrack } from './timeline.js';
import type { CostReport, SoakSample, TimelineSpan } from './types.js';

/**
 * `ext cost --html FILE`: one page that needs nothing else. No script, no
 * font, no image from anywhere: the charts are inline SVG drawn here. Every
 * figure carries `data-figure`, so a test can hold the page to --json.
 */

const escapeHtml = (text: string) => text.replace(/[&<>"']/gu, (character) => `&#${character.charCodeAt(0)};`);

const colours: Record<string, string> = {
  'init-report': '#4c78a8',
  end: '#9ecae9',
  shutdown: '#e45756',
  runtime: '#54a24b',
  'post-runtime': '#f58518',
  registration: '#b279a2',
  'extension-init': '#72b7b2',
  'extension-invoke': '#eeca3b',
};

/** Gantt-like rows: the phases, the function, post-runtime, then one row per extension. */
function timelineSvg(spans: readonly TimelineSpan[]): string {
  const fixed = [lambdaTrack, runtimeTrack, postRuntimeTrack];
  const tracks = [...fixed, ...new Set(spans.map((span) => span.track).filter((track) => !fixed.includes(track)))];
  const end = Math.max(1, ...spans.map((span) => span.startMs + (span.durationMs ?? 0)));
  const width = 1000;
  const labelWidth = 170;
  const rowHeight = 28;
  const plot = width - labelWidth - 20;
  const x = (ms: number) => labelWidth + (ms / end) * plot;
  const height = tracks.length * rowHeight + 40;
  const parts: string[] = [];
  tracks.forEach((track, row) => {
    const y = row * rowHeight + 10;
    parts.push(
      `<rect x="0" y="${y}" width="${width}" height="${rowHeight}" fill="${row % 2 === 0 ? '#f7f7f7' : '#ffffff'}"/>`,
    );
    parts.push(
      `<text x="6" y="${y + 18}" class="label">${escapeHtml(track.length > 24 ? `${track.slice(0, 23)}…` : track)}</text>`,
    );
  });
  for (const span of spans) {
    const row = tracks.indexOf(span.track);
    const y = row * rowHeight + 14;
    const title = `<title>${escapeHtml(`${span.track}: ${span.name} at ${formatFigure(span.startMs)} ms${span.durationMs === undefined ? '' : `, ${formatFigure(span.durationMs)} ms`}`)}</title>`;
    if (span.durationMs === undefined) {
      parts.push(
        `<line x1="${x(span.startMs).toFixed(1)}" x2="${x(span.startMs).toFixed(1)}" y1="${y}" y2="${y + 20}" stroke="#555" stroke-width="1">${title}</line>`,
      );
    } else {
      const left = x(span.startMs);
      const spanWidth = Math.max(1.5, x(span.startMs + span.durationMs) - left);
      parts.push(
        `<rect x="${left.toFixed(1)}" y="${y}" width="${spanWidth.toFixed(1)}" height="20" rx="2" fill="${colours[span.kind] ?? '#bab0ac'}">${title}</rect>`,
      );
      if (spanWidth > 60)
        parts.push(`<text x="${(left + 4).toFixed(1)}" y="${y + 14}" class="span">${escapeHtml(span.name)}</text>`);
    }
  }
  const axisY = tracks.length * rowHeight + 24;
  for (let tick = 0; tick <= 4; tick += 1) {
    const ms = (end * tick) / 4;
    // The first and last labels stand inside the chart, not half over its edges.
    const anchor = tick === 0 ? 'start' : tick === 4 ? 'end' : 'middle';
    parts.push(
      `<text x="${x(ms).toFixed(1)}" y="${axisY}" class="axis" text-anchor="${anchor}">${formatFigure(ms)} ms</text>`,
    );
  }
  return `<svg class="timeline" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="timeline of one cold start">${parts.join('')}</svg>`;
}

/** A line chart of one soak series against the invoke number, the warm-up shaded. */
function lineChart(
  samples: readonly SoakSample[],
  value: (sample: SoakSample) => number,
  unit: string,
  warmup: number,
  id: string,
): string {
  const width = 480;
  const height = 220;
  const left = 56;
  const bottom = 30;
  if (samples.length === 0) return '';
  const values = samples.map(value);
  const low = Math.min(...values);
  const high = Math.max(...values);
  const span = high - low || Math.max(1, Math.abs(high) * 0.1);
  const firstInvoke = samples[0]!.invoke;
  const lastInvoke = Math.max(firstInvoke + 1, samples[samples.length - 1]!.invoke);
  const x = (invoke: number) => left + ((invoke - firstInvoke) / (lastInvoke - firstInvoke)) * (width - left - 10);
  const y = (v: number) => 10 + (1 - (v - low) / span) * (height - bottom - 10);
  const points = samples
    .map((sample, index) => `${x(sample.invoke).toFixed(1)},${y(values[index]!).toFixed(1)}`)
    .join(' ');
  const warm = `<rect x="${left}" y="10" width="${Math.max(0, x(warmup) - left).toFixed(1)}" height="${height - bottom - 10}" fill="#eeeeee"/>`;
  const labels = [
    `<text x="${left - 4}" y="${y(high) + 4}" class="axis" text-anchor="end">${formatFigure(high)}</text>`,
    `<text x="${left - 4}" y="${y(low) + 4}" class="axis" text-anchor="end">${formatFigure(low)}</text>`,
    `<text x="${left}" y="${height - 8}" class="axis">invoke ${firstInvoke}</text>`,
    `<text x="${width - 10}" y="${height - 8}" class="axis" text-anchor="end">invoke ${lastInvoke}</text>`,
    `<text x="${left + 4}" y="24" class="axis">${unit}</text>`,
  ];
  return `<svg id="${id}" viewBox="0 0 ${width} ${height}" width="480" height="220" role="img" aria-label="${unit} over the soak">${warm}<line x1="${left}" x2="${left}" y1="10" y2="${height - bottom}" stroke="#888"/><line x1="${left}" x2="${width - 10}" y1="${height - bottom}" y2="${height - bottom}" stroke="#888"/><polyline points="${points}" fill="none" stroke="#4c78a8" stroke-width="1.5"/>${labels.join('')}</svg>`;
}

function soakSection(report: CostReport): string {
  const soak = report.soak;
  if (soak === undefined) return '';
  const verdicts = soak.verdicts
    .map((verdict) => `<p class="fail" data-soak-verdict="${verdict.kind}">${escapeHtml(verdict.message)}</p>`)
    .join('');
  return `<section><h2>Soak: ${soak.invokes} invokes</h2>
<p>The load: ${escapeHtml(describeLoad(soak.load))}; the first ${soak.warmupInvokes} invokes (shaded) are the warm-up.</p>
<table><tr><th>series</th><th>first quarter</th><th>last quarter</th><th>slope per 1,000 invokes</th><th>threshold</th><th>verdict</th></tr>
<tr><td>extensions' RSS (MiB)</td><td data-figure="soak.memory.firstQuarter">${formatFigure(soak.memory.firstQuarter)}</td><td data-figure="soak.memory.lastQuarter">${formatFigure(soak.memory.lastQuarter)}</td><td data-figure="soak.memory.slopePer1000">${formatFigure(soak.memory.slopePer1000)}</td><td>${formatFigure(soak.memory.thresholdPer1000)}</td><td class="${soak.memory.failed ? 'fail' : 'pass'}">${soak.memory.failed ? 'growing' : 'steady'}</td></tr>
<tr><td>post-runtime (ms, median)</td><td data-figure="soak.postRuntime.firstQuarter">${formatFigure(soak.postRuntime.firstQuarter)}</td><td data-figure="soak.postRuntime.lastQuarter">${formatFigure(soak.postRuntime.lastQuarter)}</td><td data-figure="soak.postRuntime.slopePer1000">${formatFigure(soak.postRuntime.slopePer1000)}</td><td>${formatFigure(soak.postRuntime.thresholdPer1000)}</td><td class="${soak.postRuntime.failed ? 'fail' : 'pass'}">${soak.postRuntime.failed ? 'drifting' : 'steady'}</td></tr></table>
${verdicts}
<div class="charts">${lineChart(soak.samples, (sample) => sample.rssMiB, "extensions' RSS, MiB", soak.warmupInvokes, 'soak-memory')}${lineChart(soak.samples, (sample) => sample.postRuntimeMs, 'post-runtime, ms', soak.warmupInvokes, 'soak-post-runtime')}</div>
</section>`;
}

function budgetSection(report: CostReport): string {
  if (report.budgets === undefined) return '';
  const rows = report.budgets.results
    .map(
      (result) =>
        `<li class="${result.exceeded ? 'fail' : 'pass'}" data-budget="${result.name}">${result.exceeded ? 'exceeded' : 'ok'}: ${escapeHtml(describeBudget(result))}</li>`,
    )
    .join('');
  return `<section><h2>Budgets</h2><ul>${rows}</ul></section>`;
}

export function renderCostHtml(report: CostReport): string {
  const rows = figureRows(report)
    .map(
      (row) =>
        `<tr><td>${escapeHtml(row.label)}</td><td class="number" data-figure="${row.key}">${row.layer}</td><td class="number" data-floor="${row.key}">${row.floor}</td><td class="number" data-ratio="${row.key}">${row.ratio}</td><td>${row.unit}</td></tr>`,
    )
    .join('\n');
  const memory = report.figures.memory;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>ext cost: ${escapeHtml(report.layer)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; color: #222; margin: 24px auto; max-width: 1040px; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; }
table { border-collapse: collapse; margin: 8px 0; } th, td { padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
.status { display: inline-block; padding: 2px 10px; border-radius: 10px; color: #fff; font-weight: 600; }
.status.passed { background: #2e7d32; } .status.failed { background: #c62828; }
.fail { color: #c62828; } .pass { color: #2e7d32; }
.label { font-size: 12px; fill: #333; } .span { font-size: 11px; fill: #111; } .axis { font-size: 11px; fill: #666; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; } .muted { color: #666; }
</style>
</head>
<body>
<h1>What the extension costs the function</h1>
<p><span class="status ${report.status}" data-status="${report.status}">${report.status}</span> ${escapeHtml(describeRun(report))}</p>
<section><h2>Figures</h2>
<table><tr><th>figure</th><th>layer</th><th>null floor</th><th>ratio</th><th>unit</th></tr>
${rows}
</table>
<p>Function duration with the layer: <span data-figure="functionMs.changeMs">${formatFigure(report.figures.functionMs.changeMs)}</span> ms (<span data-figure="functionMs.changePercent">${formatFigure(report.figures.functionMs.changePercent)}</span> %) against no extension.
The extensions take <span data-figure="memory.shareOfFunctionPercent">${formatFigure(memory.shareOfFunctionPercent)}</span> % of the function's ${memory.memorySizeMB} MB; the environment peaks at ${formatFigure(memory.environmentPeakMiB.layer)} MiB with the layer and ${formatFigure(memory.environmentPeakMiB.none)} MiB without.</p>
<p class="muted">The floor is a null extension of the same language (it registers and loops on event/next, nothing else), built and run the same way; the ratio is the layer's figure over the floor's. Percentiles by nearest rank.</p>
</section>
${budgetSection(report)}
<section><h2>One cold start and ${report.timeline.filter((span) => span.kind === 'end').length} invokes</h2>
${timelineSvg(report.timeline)}
<p class="muted">Init, each extension's registration and own Init, the function (runtime), post-runtime time (the runtime's response to the last extension's next), and Shutdown.</p>
</section>
${soakSection(report)}
<footer class="muted"><p>create-lambda-extension, ext cost, ${escapeHtml(report.date)}</p></footer>
</body>
</html>
`;
}

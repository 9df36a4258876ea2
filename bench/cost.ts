/**
 * `ext cost`'s own accuracy: the null extension measured against itself. Both sides are the same program, so every
 * ratio should be 1; what it is not is ext cost's own error (order effects, the emulator's share, noise), which a
 * user reads every ratio of a real layer against. Target: within 5 % for each figure, each language.
 */
import { hostArchitecture } from '../src/core/layer/architectures.js';
import { buildNullLayer, runCost } from '../src/core/cost/index.js';
import { log, quick, rows } from './rows.js';

const tolerance = 0.05;

function nullRow(figure: string, language: string, subject: number, floor: number, unit: string): void {
  const ratio = floor > 0 ? subject / floor : Number.NaN;
  rows.push({
    figure: `ext cost null vs null (${language}): ${figure}`,
    baseline: `the same null ${language} extension`,
    ratio,
    ...(unit === 'ms'
      ? { medianMs: subject, baselineMedianMs: floor }
      : { median: subject, baselineMedian: floor, unit }),
    target: '1 ± 5 %',
    // Or within 10 µs: post-runtime time of a null extension is some 30 µs, where 5 % is below the clock's grain.
    met:
      (Number.isFinite(ratio) && Math.abs(ratio - 1) <= tolerance) ||
      (unit === 'ms' && Math.abs(subject - floor) <= 0.01),
  });
}

export async function costFigures(): Promise<void> {
  const architecture = hostArchitecture() ?? 'x86_64';
  for (const language of ['go', 'ts'] as const) {
    const label = language === 'go' ? 'Go' : 'TypeScript';
    log(`ext cost: the null ${label} extension against itself`);
    const layer = await buildNullLayer({ language, architecture });
    try {
      const report = await runCost({
        projectDirectory: process.cwd(),
        layer: layer.directory,
        coldStarts: quick ? 12 : 24,
        invokes: quick ? 120 : 480,
      });
      const { figures } = report;
      // Init: the median of the per-cold-start ratios (the two run side by side, so load drift cancels).
      rows.push({
        figure: `ext cost null vs null (${label}): Init, paired by cold start`,
        baseline: `the same null ${label} extension`,
        ratio: figures.initMs.pairedRatioToNull ?? Number.NaN,
        medianMs: figures.initMs.layer.p50,
        baselineMedianMs: figures.initMs.null.p50,
        target: '1 ± 5 %',
        met: figures.initMs.pairedRatioToNull !== null && Math.abs(figures.initMs.pairedRatioToNull - 1) <= tolerance,
      });
      nullRow('post-runtime p50', label, figures.postRuntimeMs.p50, figures.postRuntimeMs.null.p50, 'ms');
      nullRow('function duration p50', label, figures.functionMs.layer.p50, figures.functionMs.null.p50, 'ms');
      nullRow('peak RSS', label, figures.memory.extensionPeakMiB, figures.memory.nullExtensionPeakMiB, 'MiB');
    } finally {
      await layer.cleanup();
    }
  }
}

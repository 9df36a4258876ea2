import type { EnvironmentRun } from './environment-run.js';
import { percentile, ratio, rounded, summarize, type Summary } from './stats.js';
import type { CostFigures, Variant } from './types.js';

/** The figures of the report, from the timed cold starts of each variant. */

function roundedSummary(summary: Summary): Summary {
  return {
    count: summary.count,
    min: rounded(summary.min, 3),
    p50: rounded(summary.p50, 3),
    p99: rounded(summary.p99, 3),
    max: rounded(summary.max, 3),
    mean: rounded(summary.mean, 3),
  };
}

const summary = (values: number[]) => roundedSummary(summarize(values));
const ratioOf = (value: number, floor: number) => {
  const result = ratio(value, floor);
  return result === null ? null : rounded(result, 3);
};

/** Paired by cold start: the i-th run of a variant against the i-th run without extensions. */
function addedInit(runs: readonly EnvironmentRun[], none: readonly EnvironmentRun[]): number[] {
  return runs.map((run, index) => run.initMs - (none[index]?.initMs ?? 0));
}

const invokesOf = (runs: readonly EnvironmentRun[]) => runs.flatMap((run) => run.invokes);
const largest = (values: number[]) => rounded(Math.max(0, ...values), 2);

export function computeFigures(runs: Record<Variant, EnvironmentRun[]>, memorySizeMB: number): CostFigures {
  const initAdded = summary(addedInit(runs.layer, runs.none));
  const nullAdded = summary(addedInit(runs.null, runs.none));
  const postRuntime = (variant: Variant) => summary(invokesOf(runs[variant]).map((invoke) => invoke.postRuntimeMs));
  const functionMs = (variant: Variant) => summary(invokesOf(runs[variant]).map((invoke) => invoke.functionMs));
  const layerPost = postRuntime('layer');
  const nullPost = postRuntime('null');
  const functions = { layer: functionMs('layer'), null: functionMs('null'), none: functionMs('none') };
  const extensionPeakMiB = largest(runs.layer.map((run) => run.extensionPeakMiB));
  const nullExtensionPeakMiB = largest(runs.null.map((run) => run.extensionPeakMiB));
  const environmentPeakMiB = {
    layer: largest(runs.layer.map((run) => run.environmentPeakMiB)),
    null: largest(runs.null.map((run) => run.environmentPeakMiB)),
    none: largest(runs.none.map((run) => run.environmentPeakMiB)),
  };
  const names = [...new Set(runs.layer.flatMap((run) => run.extensionPeaks.map((peak) => peak.name)))];
  const cgroupPeaks = runs.layer.map((run) => run.cgroupPeakMiB).filter((peak): peak is number => peak !== undefined);
  const changeMs = rounded(functions.layer.p50 - functions.none.p50, 3);
  return {
    initAddedMs: { ...initAdded, ratioToNull: ratioOf(initAdded.p50, nullAdded.p50), nullAdded },
    initMs: {
      layer: summary(runs.layer.map((run) => run.initMs)),
      null: summary(runs.null.map((run) => run.initMs)),
      none: summary(runs.none.map((run) => run.initMs)),
      pairedRatioToNull: ratioOf(
        percentile(
          runs.layer.map((run, index) => run.initMs / (runs.null[index]?.initMs ?? Number.NaN)),
          50,
        ),
        1,
      ),
    },
    postRuntimeMs: {
      ...layerPost,
      ratioToNull: ratioOf(layerPost.p50, nullPost.p50),
      null: nullPost,
      none: postRuntime('none'),
    },
    functionMs: {
      ...functions,
      changeMs,
      changePercent: functions.none.p50 > 0 ? rounded((changeMs / functions.none.p50) * 100, 2) : 0,
      ratioToNull: ratioOf(functions.layer.p50, functions.null.p50),
    },
    memory: {
      extensionPeakMiB,
      nullExtensionPeakMiB,
      ratioToNull: ratioOf(extensionPeakMiB, nullExtensionPeakMiB),
      extensions: names.map((name) => ({
        name,
        peakMiB: largest(
          runs.layer.flatMap((run) =>
            run.extensionPeaks.filter((peak) => peak.name === name).map((peak) => peak.peakMiB),
          ),
        ),
      })),
      environmentPeakMiB,
      environmentRatioToNull: ratioOf(environmentPeakMiB.layer, environmentPeakMiB.null),
      ...(cgroupPeaks.length === 0 ? {} : { cgroupPeakMiB: largest(cgroupPeaks) }),
      memorySizeMB,
      shareOfFunctionPercent: rounded((extensionPeakMiB / memorySizeMB) * 100, 2),
    },
  };
}

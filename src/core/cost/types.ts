import type { DevFunctionOptions, DevStatusKind } from '../dev/index.js';
import type { Architecture } from '../layer/architectures.js';
import type {
  FunctionBehaviour,
  InvokeEvent,
  ManagedInstancesOptions,
  RuntimeCommand,
  TimelineKind,
  Verdict,
} from '../emulator/index.js';
import type { Summary } from './stats.js';

/** What `ext cost` is asked for: one typed object, from flags or from the library API. */
export interface CostOptions {
  /** The project to build when no layer is given; its lambda-extension.json holds the budgets. */
  projectDirectory: string;
  /** A layer directory (the folder that becomes /opt) or a layer zip. Default: build the project, as ext dev does. */
  layer?: string | undefined;
  /** Fresh execution environments per variant (layer, null extension, no extension). Default 5. */
  coldStarts?: number | undefined;
  /** Invokes per variant, spread over its cold starts. Default 50. */
  invokes?: number | undefined;
  /** The function's memory size in MB: what share of it the extension takes. Default 128. */
  memorySizeMB?: number | undefined;
  /** The simulated handler: its duration (default 10 ms here), log lines, timeout. */
  function?: FunctionBehaviour | undefined;
  /**
   * The real function, as `ext dev --function` takes it (each field falling back on "dev.function" in
   * lambda-extension.json); `false`: the simulated handler, whatever the config says. Default: dev.function when
   * the project has one, else the simulated handler. Prepared once, beside the layer, and run in every environment.
   */
  functionCode?: DevFunctionOptions | false | undefined;
  /** A runtime command prepared by the caller (prepareFunction), instead of `functionCode`. */
  runtime?: RuntimeCommand | undefined;
  /** The events, one per invoke, in turn (default: --event of the function, else `{}`). */
  events?: InvokeEvent[] | undefined;
  /** Emulate Lambda Managed Instances (no INVOKE for extensions: post-runtime time is 0 by definition). */
  managedInstances?: ManagedInstancesOptions | undefined;
  /** Then N invokes in one environment with the layer, sampling memory and post-runtime time, judged for growth and drift. */
  soak?: number | undefined;
  /** Compare the figures with the "cost" budgets of lambda-extension.json (or these). */
  check?: boolean | undefined;
  budgets?: CostBudgets | undefined;
  /** TypeScript builds: run the project's tsc too (as ext dev); default true. */
  typecheck?: boolean | undefined;
  /** A plain TypeScript project: the node binary to run it on (as ext dev --node). */
  nodePath?: string | undefined;
  nodeCacheDirectory?: string | undefined;
  architecture?: Architecture | undefined;
  onStatus?: ((message: string, kind: DevStatusKind) => void) | undefined;
  onBuildOutput?: ((chunk: string) => void) | undefined;
  signal?: AbortSignal | undefined;
}

/** "cost" in lambda-extension.json: each an upper bound; absent ones are not checked. */
export interface CostBudgets {
  /** Init added by the layer (p50 over the cold starts), ms. */
  initAddedMs?: number | undefined;
  /** Post-runtime time per invoke (p99), ms. */
  postRuntimeP99Ms?: number | undefined;
  /** The extensions' peak resident memory, MiB. */
  peakRssMiB?: number | undefined;
}

export type Variant = 'layer' | 'null' | 'none';

/** One figure with the layer and its floor, the null extension of the same language. */
export interface FloorRatio {
  /** The layer's figure over the null extension's, or null when the floor is zero. */
  ratioToNull: number | null;
}

export interface CostFigures {
  /** Init with the layer minus Init with no extension, paired by cold start. */
  initAddedMs: Summary & FloorRatio & { nullAdded: Summary };
  /** Init itself, per variant, and the median over cold starts of Init with the layer over Init with the null one. */
  initMs: Record<Variant, Summary> & { pairedRatioToNull: number | null };
  /** From the runtime's response to the last extension's next (Lambda's PostRuntimeExtensionsDuration). */
  postRuntimeMs: Summary & FloorRatio & { null: Summary; none: Summary };
  /** The function's own duration (START to the runtime's response), per variant. */
  functionMs: Record<Variant, Summary> & {
    /** p50 with the layer minus p50 without it. */
    changeMs: number;
    /** The same as a share of the p50 without the layer, in %. */
    changePercent: number;
  } & FloorRatio;
  memory: MemoryFigures;
}

export interface MemoryFigures {
  /** The layer's extension processes at their peak (VmHWM, summed, the most over all cold starts), MiB. */
  extensionPeakMiB: number;
  nullExtensionPeakMiB: number;
  /** extensionPeakMiB over nullExtensionPeakMiB. */
  ratioToNull: number | null;
  /** Per extension of the layer. */
  extensions: { name: string; peakMiB: number }[];
  /** Every process of the environment (extensions, their children, a real runtime) at its peak, MiB. */
  environmentPeakMiB: Record<Variant, number>;
  environmentRatioToNull: number | null;
  /** The run's cgroup memory.peak with the layer, when the emulator ran it in a cgroup v2 that reports it. */
  cgroupPeakMiB?: number | undefined;
  memorySizeMB: number;
  /** extensionPeakMiB as a share of the function's memory, in %. */
  shareOfFunctionPercent: number;
}

export interface SoakSample {
  invoke: number;
  /** Since the soak's first invoke started, ms. */
  elapsedMs: number;
  /** The extensions' resident memory after the invoke, MiB. */
  rssMiB: number;
  postRuntimeMs: number;
  /** Log lines the handler printed in that invoke. */
  logLines: number;
}

export interface SoakTrend {
  /** Least-squares slope after the warm-up, per 1,000 invokes (MiB, or ms). */
  slopePer1000: number;
  rSquared: number;
  /** Mean (memory) or median (post-runtime) of the first and last quarter after the warm-up. */
  firstQuarter: number;
  lastQuarter: number;
  /** The slope per 1,000 invokes above which it fails (with a good enough fit and a real rise between quarters). */
  thresholdPer1000: number;
  failed: boolean;
}

export interface SoakVerdict {
  kind: 'memory-growth' | 'post-runtime-drift' | 'extension-failed';
  message: string;
}

export interface SoakReport {
  invokes: number;
  /** Samples before this one are the warm-up, left out of the trends. */
  warmupInvokes: number;
  durationMs: number;
  /** The extensions' peak resident memory (VmHWM) at the end of the soak, MiB; `--check`'s peakRssMiB holds it too. */
  extensionPeakMiB: number;
  /** What the simulated handler printed, or how many 1 MiB events a real function got: the load the extension was driven with. */
  load: { logLines: number; logBytes: number; largestLineBytes: number; largePayloads: number };
  memory: SoakTrend;
  postRuntime: SoakTrend;
  verdicts: SoakVerdict[];
  passed: boolean;
  /** Every sample, for the charts (at most `maxSoakSamples`, evenly spread, in the report). */
  samples: SoakSample[];
}

export interface BudgetResult {
  name: keyof CostBudgets;
  budget: number;
  measured: number;
  unit: 'ms' | 'MiB';
  exceeded: boolean;
}

/** One span or moment of the timeline, on the run's clock (ms since the traced environment's emulator started). */
export interface TimelineSpan {
  /** The row: `Lambda` (Init, invokes, Shutdown), `runtime`, or an extension's name. */
  track: string;
  name: string;
  startMs: number;
  /** Absent for a moment (an instant event). */
  durationMs?: number | undefined;
  kind: TimelineKind | 'registration' | 'extension-init' | 'extension-invoke' | 'post-runtime' | 'runtime';
  requestId?: string | undefined;
}

export interface CostReport {
  status: 'passed' | 'failed';
  /** 1 when the soak or a budget failed. */
  exitCode: number;
  /** Why it failed, as the error ext cost exits with: the soak first, then the budgets. */
  errorCode?: 'E_COST_SOAK_FAILED' | 'E_COST_BUDGET_EXCEEDED' | undefined;
  /** The layer as given (a zip, a folder) or the project's build. */
  layer: string;
  language: 'go' | 'ts';
  computeMode: 'on-demand' | 'managed-instances';
  /** `simulated` (the emulator's handler) or the runtime's description. */
  function: string;
  coldStarts: number;
  invokes: number;
  functionDurationMs: number;
  figures: CostFigures;
  /** The null extension against no extension: what the floor itself costs, to read the ratios against. */
  floor: { initAddedP50Ms: number; postRuntimeP50Ms: number; extensionPeakMiB: number };
  soak?: SoakReport | undefined;
  budgets?: { results: BudgetResult[]; passed: boolean } | undefined;
  /** Verdicts of the emulator: the layer failed as it would on Lambda, and its figures mean little. */
  verdicts: Verdict[];
  /** One cold start with the layer and a few invokes, then Shutdown. */
  timeline: TimelineSpan[];
  date: string;
}

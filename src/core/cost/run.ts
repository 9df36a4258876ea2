import fs from 'node:fs/promises';
import path from 'node:path';
import { configFileName, readConfig } from '../config.js';
import {
  devEvents,
  functionUsesNode,
  prepareDevFunction,
  prepareLayer,
  resolveDevFunction,
  type DevOptions,
  type PreparedLayer,
} from '../dev/index.js';
import type { EmulatorOptions, FunctionBehaviour, InvokeEvent, RuntimeCommand, Verdict } from '../emulator/index.js';
import { CancelledError, CliError } from '../errors.js';
import { hostArchitecture } from '../layer/architectures.js';
import { listExtensionFiles, type ExtensionFile } from '../layer/extensions.js';
import { checkBudgets } from './budgets.js';
import { runEnvironment, type EnvironmentRun } from './environment-run.js';
import { computeFigures } from './figures.js';
import { buildNullLayer, emptyLayer } from './null-extension.js';
import { analyseSoak, soakBehaviour, soakEvent } from './soak.js';
import { timelineSpans } from './timeline.js';
import type { CostBudgets, CostOptions, CostReport, SoakReport, SoakSample, Variant } from './types.js';

/**
 * `ext cost`: the layer against no extension and against a null extension of
 * its language, K cold starts each, interleaved round by round (the order
 * rotating, so that drift in the machine's load falls on every variant alike),
 * N invokes each spread over its cold starts; then the soak and the budgets.
 */

export const defaultColdStarts = 5;
export const defaultInvokes = 50;
/** The simulated handler's duration under ext cost: short, so that a soak of 2,000 invokes takes under a minute. */
export const defaultCostFunctionDurationMs = 10;
/**
 * The orders the variants take turns in, round after round: all six, so that each variant comes first, second and
 * third, and after each of the others, equally often. A plain rotation would put the null extension after the
 * layer twice as often as after nothing, and the teardown of one environment slows the Init of the next.
 */
const orders: readonly (readonly Variant[])[] = [
  ['layer', 'null', 'none'],
  ['null', 'none', 'layer'],
  ['none', 'layer', 'null'],
  ['layer', 'none', 'null'],
  ['null', 'layer', 'none'],
  ['none', 'null', 'layer'],
];

const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 25));

/** Invokes in the traced cold start, which the timeline, the page and --trace show. */
const tracedInvokes = 3;

/** Go layers hold ELF binaries; TypeScript layers hold launcher scripts. */
async function languageOf(files: readonly ExtensionFile[]): Promise<'go' | 'ts'> {
  for (const { file } of files) {
    const handle = await fs.open(file, 'r');
    try {
      const head = Buffer.alloc(4);
      await handle.read(head, 0, 4, 0);
      if (head.toString('latin1') !== '\x7fELF') return 'ts';
    } finally {
      await handle.close();
    }
  }
  return 'go';
}

/** The budgets to check: the options', else the project's "cost"; fails before any run when there are none. */
async function budgetsToCheck(options: CostOptions): Promise<CostBudgets | undefined> {
  if (options.check !== true) return undefined;
  if (options.budgets !== undefined) return options.budgets;
  const projectDirectory = path.resolve(options.projectDirectory);
  const hasConfig = await fs.stat(path.join(projectDirectory, configFileName)).then(
    () => true,
    () => false,
  );
  const budgets = hasConfig ? (await readConfig(projectDirectory)).cost : undefined;
  if (budgets === undefined || Object.keys(budgets).length === 0) {
    throw new CliError(`--check: ${path.join(projectDirectory, configFileName)} sets no "cost" budgets`, {
      code: 'E_COST_NO_BUDGETS',
      exitCode: 2,
      hint: 'add "cost": {"initAddedMs": 50, "postRuntimeP99Ms": 5, "peakRssMiB": 20} to lambda-extension.json, or drop --check',
    });
  }
  return budgets;
}

function failOnVerdicts(run: EnvironmentRun, layerShownAs: string): void {
  if (run.verdicts.length === 0 && run.initStatus === 'success') return;
  const what =
    run.variant === 'layer' ? layerShownAs : run.variant === 'null' ? 'the null extension' : 'the empty environment';
  const verdicts = run.verdicts.map(
    (verdict: Verdict) => `${verdict.extension}: ${verdict.errorType} (${verdict.kind})`,
  );
  throw new CliError(
    `${what} failed in the emulator (${verdicts.join(', ') || `Init ${run.initStatus}`}), so its cost means nothing`,
    {
      code: 'E_COST_EXTENSION_FAILED',
      hint:
        run.variant === 'layer'
          ? 'run ext dev to see the timeline and each verdict'
          : 'this is a bug of ext cost; please report it',
    },
  );
}

interface Prepared {
  layer: PreparedLayer;
  /** The real function, when there is one: its runtime command, handler, events and credentials. */
  runtime?: RuntimeCommand | undefined;
  handler?: string | undefined;
  events?: InvokeEvent[] | undefined;
  credentials?: Record<string, string> | undefined;
  shownAs: string;
  language: 'go' | 'ts';
  directories: Record<Variant, string>;
  cleanups: (() => Promise<void>)[];
}

/** ext dev's view of the run: the layer and the function are found, built and prepared exactly as ext dev does. */
function devOptionsOf(options: CostOptions): DevOptions {
  return {
    projectDirectory: options.projectDirectory,
    layer: options.layer,
    architecture: options.architecture,
    // Costs measured under qemu would be qemu's: a foreign layer is refused.
    emulation: 'off',
    onStatus: options.onStatus,
    onBuildOutput: options.onBuildOutput,
    typecheck: options.typecheck,
    nodePath: options.nodePath,
    nodeCacheDirectory: options.nodeCacheDirectory,
    signal: options.signal,
    memorySizeMB: options.memorySizeMB,
    managedInstances: options.managedInstances,
    // A runtime given by the caller replaces the function of the project.
    functionCode: options.runtime === undefined ? options.functionCode : false,
  };
}

/**
 * The runtime as the null and empty environments start it: an exec wrapper the layer ships (a proxy's) is not
 * there, so the runtime starts directly, as a function without the layer would. What the wrapper costs is then
 * part of what the layer adds.
 */
export function withoutLayerWrapper(runtime: RuntimeCommand, layerDirectory: string): RuntimeCommand {
  const wrapper = runtime.env['AWS_LAMBDA_EXEC_WRAPPER'];
  const inLayer = path.relative(layerDirectory, runtime.command);
  if (wrapper === undefined || inLayer.startsWith('..') || path.isAbsolute(inLayer) || runtime.args.length === 0) {
    return runtime;
  }
  const { AWS_LAMBDA_EXEC_WRAPPER: _wrapper, ...env } = runtime.env;
  const [command, ...args] = runtime.args as [string, ...string[]];
  return { ...runtime, command, args, env, description: `${runtime.description}, without the layer's wrapper` };
}

async function prepareVariants(options: CostOptions, cleanups: (() => Promise<void>)[]): Promise<Prepared> {
  const devOptions = devOptionsOf(options);
  const request = await resolveDevFunction(devOptions);
  const events = await devEvents(request);
  const layer = await nativeLayer(devOptions, options, functionUsesNode(request));
  cleanups.push(() => layer.cleanup());
  const prepared = await prepareVariantsAfterLayer(options, layer, cleanups);
  if (request === undefined) return prepared;
  // Prepared once, beside the layer (its bootstrap or exec wrapper may be in it), and run in every variant.
  const fn = await prepareDevFunction(request, devOptions, layer.directory);
  cleanups.push(() => fn.cleanup());
  return { ...prepared, runtime: fn.runtime, handler: fn.handler, events, credentials: fn.credentials };
}

/** The layer, built or given, refused when it is not for this machine: costs under qemu would be qemu's. */
function nativeLayer(devOptions: DevOptions, options: CostOptions, functionNeedsNode: boolean): Promise<PreparedLayer> {
  return prepareLayer(devOptions, false, functionNeedsNode).catch((error: unknown) => {
    if (error instanceof CliError && error.code === 'E_EMULATOR_EMULATION_OFF') {
      throw new CliError(
        `${options.layer === undefined ? 'the project' : `--layer ${options.layer}`}: ${error.message}`,
        {
          code: 'E_COST_FOREIGN_ARCHITECTURE',
          hint: `ext cost measures a layer on this machine's architecture (${hostArchitecture() ?? process.arch}) only, as figures under qemu would be qemu's: build and measure it for this one`,
          cause: error,
        },
      );
    }
    throw error;
  });
}

async function prepareVariantsAfterLayer(
  options: CostOptions,
  layer: PreparedLayer,
  cleanups: (() => Promise<void>)[],
): Promise<Prepared> {
  const files = layer.extensionFiles ?? (await listExtensionFiles(layer.directory));
  const language = await languageOf(files);
  const architecture = layer.architecture ?? hostArchitecture() ?? 'x86_64';
  options.onStatus?.(
    `building the null extension (${language === 'go' ? 'Go' : 'TypeScript'}), the floor of every figure…`,
    'progress',
  );
  const floor = await buildNullLayer({
    language,
    architecture,
    node: layer.node,
    signal: options.signal,
    onBuildOutput: options.onBuildOutput,
  });
  cleanups.push(() => floor.cleanup());
  const none = await emptyLayer();
  cleanups.push(() => none.cleanup());
  const shownAs = options.layer ?? path.relative(process.cwd(), layer.directory) ?? layer.directory;
  return {
    layer,
    shownAs,
    language,
    directories: { layer: layer.directory, null: floor.directory, none: none.directory },
    cleanups,
  };
}

function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new CancelledError();
}

async function runSoak(
  options: CostOptions,
  optionsFor: (variant: Variant) => EmulatorOptions,
  baseBehaviour: FunctionBehaviour,
  invokes: number,
  events: readonly InvokeEvent[] | undefined,
): Promise<SoakReport> {
  const samples: SoakSample[] = [];
  const load = { logLines: 0, logBytes: 0, largestLineBytes: 0, largePayloads: 0 };
  const linesOf = new Map<number, number>();
  const started = performance.now();
  const progressEvery = Math.max(1, Math.floor(invokes / 10));
  // A real function prints what it prints: it is driven with large payloads instead of the handler's lines.
  const realFunction = optionsFor('layer').runtime !== undefined;
  const run = await runEnvironment({
    variant: 'layer',
    options: optionsFor('layer'),
    invokes,
    signal: options.signal,
    ...(realFunction
      ? {
          eventFor: (index: number) => {
            if (index % 50 === 49) load.largePayloads += 1;
            return soakEvent(events, index);
          },
        }
      : {}),
    behaviourFor: (index) => {
      if (realFunction) return {};
      const behaviour = soakBehaviour(baseBehaviour, index);
      const lines = behaviour.logLines ?? [];
      linesOf.set(index, lines.length);
      load.logLines += lines.length;
      for (const line of lines) {
        const bytes = Buffer.byteLength(line);
        load.logBytes += bytes;
        load.largestLineBytes = Math.max(load.largestLineBytes, bytes);
      }
      return behaviour;
    },
    onInvoke: (measure, index, rssMiB) => {
      samples.push({
        invoke: index + 1,
        elapsedMs: performance.now() - started,
        rssMiB,
        postRuntimeMs: measure.postRuntimeMs,
        logLines: linesOf.get(index) ?? 0,
      });
      if ((index + 1) % progressEvery === 0) options.onStatus?.(`soak: ${index + 1} of ${invokes} invokes`, 'progress');
    },
  });
  throwIfCancelled(options.signal);
  const report = analyseSoak(samples, performance.now() - started, load, run.extensionPeakMiB);
  if (run.verdicts.length > 0 || run.initStatus !== 'success' || samples.length < invokes) {
    const verdicts = run.verdicts.map((verdict) => `${verdict.extension}: ${verdict.errorType} (${verdict.kind})`);
    report.verdicts.push({
      kind: 'extension-failed',
      message: `the layer failed after ${samples.length} of ${invokes} invokes: ${verdicts.join(', ') || `Init ${run.initStatus}`}`,
    });
    report.passed = false;
  }
  return report;
}

/** Runs the whole measurement and returns the report; it is `failed` when the soak or a budget fails. */
export async function runCost(options: CostOptions): Promise<CostReport> {
  const coldStarts = options.coldStarts ?? defaultColdStarts;
  const invokes = options.invokes ?? defaultInvokes;
  const memorySizeMB = options.memorySizeMB ?? 128;
  const budgets = await budgetsToCheck(options);
  const behaviour: FunctionBehaviour = {
    ...options.function,
    durationMs: options.function?.durationMs ?? defaultCostFunctionDurationMs,
  };
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const prepared = await prepareVariants(options, cleanups);
    const runtime = options.runtime ?? prepared.runtime;
    const events = options.events ?? prepared.events;
    const base: Omit<EmulatorOptions, 'layerDirectory'> = {
      memorySizeMB,
      function: behaviour,
      ...(runtime === undefined ? {} : { runtime }),
      ...(prepared.handler === undefined ? {} : { handler: prepared.handler }),
      ...(events === undefined ? {} : { events }),
      ...(prepared.credentials === undefined ? {} : { env: prepared.credentials }),
      ...(options.managedInstances === undefined ? {} : { managedInstances: options.managedInstances }),
      ...(prepared.layer.architecture === undefined ? {} : { architecture: prepared.layer.architecture }),
      ...(prepared.layer.node === undefined ? {} : { node: prepared.layer.node }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    };
    const optionsFor = (variant: Variant): EmulatorOptions => ({
      ...base,
      ...(variant !== 'layer' && runtime !== undefined
        ? { runtime: withoutLayerWrapper(runtime, prepared.layer.directory) }
        : {}),
      layerDirectory: prepared.directories[variant],
      ...(variant === 'layer' && prepared.layer.extensionFiles !== undefined
        ? { extensionFiles: prepared.layer.extensionFiles }
        : {}),
    });
    // The warm-up round, left out of the figures: the first start of each pays for cold file caches. The
    // layer's is the traced one, polled for its registrations.
    options.onStatus?.('warm-up: one cold start of each, the layer traced', 'progress');
    const traced = await runEnvironment({
      variant: 'layer',
      options: optionsFor('layer'),
      invokes: tracedInvokes,
      trace: true,
      signal: options.signal,
    });
    throwIfCancelled(options.signal);
    failOnVerdicts(traced, prepared.shownAs);
    for (const variant of ['null', 'none'] as const) {
      failOnVerdicts(
        await runEnvironment({ variant, options: optionsFor(variant), invokes: 1, signal: options.signal }),
        prepared.shownAs,
      );
      throwIfCancelled(options.signal);
    }
    const runs: Record<Variant, EnvironmentRun[]> = { layer: [], null: [], none: [] };
    for (let round = 0; round < coldStarts; round += 1) {
      const order = orders[round % orders.length]!;
      options.onStatus?.(
        `cold start ${round + 1} of ${coldStarts}: the layer, the null extension and no extension, in turn`,
        'progress',
      );
      const count = Math.floor(invokes / coldStarts) + (round < invokes % coldStarts ? 1 : 0);
      for (const variant of order) {
        // The last environment's teardown (its processes reaped, its cgroup removed) must not fall on this one's Init.
        await settle();
        const run = await runEnvironment({
          variant,
          options: optionsFor(variant),
          invokes: count,
          signal: options.signal,
        });
        throwIfCancelled(options.signal);
        failOnVerdicts(run, prepared.shownAs);
        runs[variant].push(run);
      }
    }
    const figures = computeFigures(runs, memorySizeMB);
    const soak =
      options.soak === undefined ? undefined : await runSoak(options, optionsFor, behaviour, options.soak, events);
    const checked = budgets === undefined ? undefined : checkBudgets(budgets, figures, soak?.extensionPeakMiB);
    const soakFailed = soak !== undefined && !soak.passed;
    const failed = soakFailed || (checked !== undefined && !checked.passed);
    return {
      status: failed ? 'failed' : 'passed',
      exitCode: failed ? 1 : 0,
      ...(failed ? { errorCode: soakFailed ? 'E_COST_SOAK_FAILED' : 'E_COST_BUDGET_EXCEEDED' } : {}),
      layer: prepared.shownAs,
      language: prepared.language,
      computeMode: options.managedInstances === undefined ? 'on-demand' : 'managed-instances',
      function: runtime?.description ?? 'simulated',
      coldStarts,
      invokes,
      functionDurationMs: behaviour.durationMs ?? defaultCostFunctionDurationMs,
      figures,
      floor: {
        initAddedP50Ms: figures.initAddedMs.nullAdded.p50,
        postRuntimeP50Ms: figures.postRuntimeMs.null.p50,
        extensionPeakMiB: figures.memory.nullExtensionPeakMiB,
      },
      ...(soak === undefined ? {} : { soak }),
      ...(checked === undefined ? {} : { budgets: checked }),
      verdicts: [],
      timeline: timelineSpans(traced.stamped ?? [], traced.moments ?? []),
      date: new Date().toISOString(),
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  }
}

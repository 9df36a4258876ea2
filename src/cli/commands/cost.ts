import { existsSync } from 'node:fs';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import type { CostOptions, CostReport } from '../../core/cost/index.js';
import type { DevFunctionOptions } from '../../core/dev/index.js';
import type { DevStatusKind } from '../../core/dev/index.js';
import { CliError } from '../../core/errors.js';
import { escapeControlCharacters } from '../../core/text.js';
import { projectOptions, typecheckFlag, typecheckOption } from '../options.js';
import { withInterruption } from '../run.js';
import { cyan, red, showsProgress } from '../terminal.js';

/** Numeric flags are untyped for yargs, so that a mistyped value reaches us as written, not as NaN. */
type FlagValue = string | number | (string | number)[];

interface CostArguments {
  layer?: string | undefined;
  /** A path, or false for --no-function. */
  function?: string | false | undefined;
  runtime?: string | undefined;
  handler?: string | undefined;
  event?: string | undefined;
  python?: string | undefined;
  'pass-aws-credentials'?: boolean | undefined;
  'cold-starts': FlagValue;
  invokes: FlagValue;
  memory: FlagValue;
  'function-duration': FlagValue;
  'function-log'?: string[] | undefined;
  timeout: FlagValue;
  'managed-instances'?: boolean | undefined;
  soak?: FlagValue | undefined;
  html?: string | undefined;
  trace?: string | undefined;
  check?: boolean | undefined;
  typecheck?: boolean | undefined;
  node?: string | undefined;
  cwd: string;
  json?: boolean | undefined;
}

function numberFlag(name: string, given: FlagValue, minimum: number, maximum: number, whole: boolean): number {
  const raw = Array.isArray(given) ? given[given.length - 1] : given;
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
  if (!Number.isFinite(value) || value < minimum || value > maximum || (whole && !Number.isInteger(value))) {
    throw new CliError(
      `--${name}: expected ${whole ? 'a whole number' : 'a number'} from ${minimum} to ${maximum}, got "${String(raw)}"`,
      {
        code: 'E_USAGE',
        exitCode: 2,
        hint: 'run ext cost --help to see the flags and their defaults',
      },
    );
  }
  return value;
}

/** --function and its companions, as ext dev takes them; --no-function: the simulated handler. */
function functionCode(args: CostArguments): DevFunctionOptions | false {
  const companions = (['runtime', 'handler', 'event', 'python', 'pass-aws-credentials'] as const).filter(
    (flag) => args[flag] !== undefined && args[flag] !== false,
  );
  if (args.function === false) {
    if (companions.length > 0)
      throw new CliError(`--no-function: the simulated handler runs, so --${companions.join(', --')} cannot apply`, {
        code: 'E_USAGE',
        exitCode: 2,
        hint: `drop --no-function to run the real function, or drop --${companions.join(' --')}`,
      });
    return false;
  }
  return {
    path: args.function === undefined || args.function === '' ? undefined : args.function,
    runtime: args.runtime,
    handler: args.handler,
    event: args.event,
    pythonPath: args.python,
    passAwsCredentials: args['pass-aws-credentials'],
    stdin: process.stdin,
    hostEnvironment: process.env,
  };
}

function costOptions(args: CostArguments): CostOptions {
  const progress = showsProgress(args.json);
  return {
    projectDirectory: args.cwd,
    layer: args.layer,
    functionCode: functionCode(args),
    coldStarts: numberFlag('cold-starts', args['cold-starts'], 1, 1000, true),
    invokes: numberFlag('invokes', args.invokes, 1, 1_000_000, true),
    memorySizeMB: numberFlag('memory', args.memory, 128, 10_240, true),
    function: {
      durationMs: numberFlag('function-duration', args['function-duration'], 0, 900_000, false),
      logLines: args['function-log'] ?? [],
      timeoutSeconds: numberFlag('timeout', args.timeout, 0.001, 900, false),
    },
    managedInstances: args['managed-instances'] === true ? { maxConcurrency: 1 } : undefined,
    soak: args.soak === undefined ? undefined : numberFlag('soak', args.soak, 20, 1_000_000, true),
    check: args.check === true,
    typecheck: typecheckFlag(args.typecheck),
    nodePath: args.node,
    onStatus: (message: string, kind: DevStatusKind) => {
      const text = escapeControlCharacters(message);
      if (kind !== 'progress' || progress) process.stderr.write(`${kind === 'progress' ? cyan(text) : text}\n`);
    },
    onBuildOutput: (chunk: string) => process.stderr.write(chunk),
  };
}

/** A failed report's error: the soak first (it names what grew), else the budgets. */
function failure(report: CostReport): CliError {
  if (report.soak !== undefined && !report.soak.passed) {
    return new CliError(`the soak failed: ${report.soak.verdicts.map((verdict) => verdict.message).join('; ')}`, {
      code: 'E_COST_SOAK_FAILED',
      hint: 'the --html page charts memory and post-runtime time over the soak; a leak usually keeps something per invoke',
    });
  }
  const exceeded = report.budgets?.results.filter((result) => result.exceeded) ?? [];
  return new CliError(
    `over budget: ${exceeded.map((result) => `${result.name} ${result.measured} ${result.unit} > ${result.budget}`).join(', ')}`,
    {
      code: 'E_COST_BUDGET_EXCEEDED',
      hint: 'the figures are above; raise the budget in lambda-extension.json "cost" only if the cost is intended',
    },
  );
}

async function runCostCommand(args: CostArguments): Promise<void> {
  const [{ runCost, formatCostReport, writeCostOutputs }, { assertDevHost }] = await Promise.all([
    import('../../core/cost/index.js'),
    import('../../core/hosts.js'),
  ]);
  assertDevHost();
  const options = costOptions(args);
  for (const [flag, file] of [
    ['--html', args.html],
    ['--trace', args.trace],
  ] as const) {
    // Checked before minutes of measuring, not after.
    if (file !== undefined && !existsSync(path.dirname(path.resolve(file)))) {
      throw new CliError(`${flag}: the folder of ${file} does not exist`, {
        code: 'E_COST_OUTPUT_UNWRITABLE',
        exitCode: 2,
        hint: `create ${path.dirname(file)} first, or pass ${flag} a path in an existing folder`,
      });
    }
  }
  const report = await withInterruption((signal) => runCost({ ...options, signal }));
  await writeCostOutputs(report, { html: args.html, trace: args.trace });
  const text = args.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatCostReport(report);
  process.stdout.write(report.status === 'failed' && args.json !== true ? red(text) : text);
  if (report.status === 'failed') throw failure(report);
}

const costFlags = {
  layer: {
    type: 'string',
    describe: 'A layer zip or directory (the folder that becomes /opt)',
    defaultDescription: 'build the project for this machine, as ext dev does',
  },
  function: {
    type: 'string',
    requiresArg: true,
    describe:
      "Run this real function in every environment: its folder (Lambda's /var/task) or zip; --no-function runs the simulated handler",
    defaultDescription: '"dev.function" in lambda-extension.json, else the simulated handler',
  },
  runtime: {
    type: 'string',
    requiresArg: true,
    describe: 'With --function: the Lambda runtime that runs it (provided.al2023, python3.x, nodejs22.x, nodejs24.x)',
    defaultDescription: '"dev.function.runtime"',
  },
  handler: { type: 'string', requiresArg: true, describe: "With --function: Lambda's handler setting (_HANDLER)" },
  event: {
    type: 'string',
    requiresArg: true,
    describe: 'With --function: a JSON file of events (a JSON array or JSON Lines: taken in turn); - reads stdin',
    defaultDescription: '"dev.function.event", else {}',
  },
  python: { type: 'string', requiresArg: true, describe: 'With a python3.x function: the python that runs it' },
  'pass-aws-credentials': {
    type: 'boolean',
    describe: "Give the function and the extensions this shell's AWS credentials (else they get none)",
  },
  'cold-starts': {
    default: 5,
    requiresArg: true,
    describe: 'Fresh execution environments per variant (layer, null extension, none)',
  },
  invokes: { default: 50, requiresArg: true, describe: 'Invokes per variant, spread over its cold starts' },
  memory: {
    default: 128,
    requiresArg: true,
    describe: "The function's memory size in MB: the report gives the extensions' share",
  },
  'function-duration': { default: 10, requiresArg: true, describe: 'How long the simulated handler runs, in ms' },
  'function-log': { type: 'string', array: true, describe: 'A line the handler prints on each invoke (repeatable)' },
  timeout: { default: 3, requiresArg: true, describe: 'Function timeout in seconds' },
  'managed-instances': {
    type: 'boolean',
    describe: 'Measure under Lambda Managed Instances (extensions get no INVOKE: post-runtime time is 0)',
  },
  soak: {
    type: 'string',
    requiresArg: true,
    describe:
      'Then N invokes in one environment under bursty, large log output; fails when memory grows or post-runtime time drifts up',
  },
  html: {
    type: 'string',
    requiresArg: true,
    describe: 'Write a self-contained HTML report (figures, timeline, soak charts)',
  },
  trace: {
    type: 'string',
    requiresArg: true,
    describe: 'Write the timeline of one cold start as Chrome Trace Event JSON (Perfetto)',
  },
  check: { type: 'boolean', describe: 'Fail when a figure exceeds its budget in lambda-extension.json "cost"' },
  ...typecheckOption,
  node: {
    type: 'string',
    requiresArg: true,
    describe: 'TypeScript: the node binary to run the extension (and the null one) on',
    defaultDescription: "as ext dev: the Linux node of the project's runtime, fetched from npm once",
  },
  ...projectOptions,
} as const;

export const costCommand: CommandModule<object, CostArguments> = {
  command: 'cost',
  describe: 'Measure what the layer costs the function (Init, post-runtime time, memory) against a null extension',
  builder: (yargs) =>
    yargs
      .options(costFlags)
      .example(
        '$0 cost',
        'Build for this machine; 5 cold starts and 50 invokes with the layer, a null extension and none',
      )
      .example('$0 cost --layer dist/my-ext-x86_64.zip --json', 'Measure a packed layer; print every figure as JSON')
      .example('$0 cost --soak 2000 --html cost.html', 'Then 2,000 invokes watching for leaks; write the report page')
      .example('$0 cost --check', 'Fail when a figure is over its "cost" budget in lambda-extension.json')
      .example('$0 cost --trace cost.trace.json', 'Write one cold start as a trace for ui.perfetto.dev'),
  handler: (args) => runCostCommand(args),
};

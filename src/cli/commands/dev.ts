import path from 'node:path';
import type { CommandModule } from 'yargs';
import type { EmulatorReport, TimelineEntry } from '../../core/emulator/types.js';
import type { Architecture } from '../../core/layer/architectures.js';
import type { DevFunctionOptions, DevStatusKind } from '../../core/dev/index.js';
import type { EmulationPreference } from '../../core/emulator/cpu-emulation/index.js';
import { maxManagedInstancesConcurrency } from '../../core/emulator/limits.js';
import { CliError } from '../../core/errors.js';
import { escapeControlCharacters, printableLine } from '../../core/text.js';
import { projectOptions, typecheckFlag, typecheckOption } from '../options.js';
import { withInterruption } from '../run.js';
import { cyan, dim, red, showsProgress, yellow } from '../terminal.js';

/** Numeric flags are untyped for yargs, so that a mistyped value reaches us as written, not as NaN. */
type FlagValue = string | number | (string | number)[];

interface DevArguments {
  layer?: string | undefined;
  arch?: Architecture | undefined;
  emulation: EmulationPreference;
  /** A path, or false for --no-function. */
  function?: string | false | undefined;
  runtime?: string | undefined;
  handler?: string | undefined;
  event?: string | undefined;
  python?: string | undefined;
  'pass-aws-credentials'?: boolean | undefined;
  invokes?: FlagValue | undefined;
  interval: FlagValue;
  'function-duration': FlagValue;
  'function-error'?: boolean | undefined;
  'function-log'?: string[] | undefined;
  'tenant-id'?: string | undefined;
  timeout: FlagValue;
  'init-timeout': FlagValue;
  memory: FlagValue;
  env?: string[] | undefined;
  'managed-instances'?: boolean | undefined;
  concurrency?: FlagValue | undefined;
  freeze: boolean;
  'freeze-ms'?: FlagValue | undefined;
  watch?: boolean | undefined;
  typecheck?: boolean | undefined;
  node?: string | undefined;
  cwd: string;
  json?: boolean | undefined;
}

/** A numeric flag, checked against its range; the error echoes what the user typed. */
function numberFlag(
  name: string,
  given: FlagValue,
  {
    minimum,
    maximum,
    whole = false,
    lambdaRange = false,
  }: { minimum: number; maximum?: number; whole?: boolean; lambdaRange?: boolean },
): number {
  // Repeated flags arrive as an array; the last one wins, as with every other flag.
  const raw = Array.isArray(given) ? given[given.length - 1] : given;
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
  const tooLarge = maximum !== undefined && value > maximum;
  if (!Number.isFinite(value) || value < minimum || tooLarge || (whole && !Number.isInteger(value))) {
    const range =
      maximum === undefined
        ? `>= ${minimum}`
        : `from ${minimum} to ${maximum}${lambdaRange ? " (Lambda's range)" : ''}`;
    const expected = whole ? `a whole number ${range}` : `a number ${range}`;
    throw new CliError(`--${name}: expected ${expected}, got "${String(raw)}"`, {
      code: 'E_USAGE',
      exitCode: 2,
      hint: 'run ext dev --help to see the flags and their defaults',
    });
  }
  return value;
}

/**
 * Invokes one Managed Instances environment serves at once when --concurrency
 * is not given: enough to see invokes overlap and their log lines interleave,
 * few enough to read the timeline. (RIE defaults to 1; AWS's runtimes default
 * to 16 or 64 per vCPU.)
 */
export const defaultManagedInstancesConcurrency = 4;

function managedInstances(args: DevArguments): { maxConcurrency: number } | undefined {
  if (args['managed-instances'] !== true) {
    if (args.concurrency !== undefined) {
      throw new CliError('--concurrency: applies to Lambda Managed Instances only', {
        code: 'E_USAGE',
        exitCode: 2,
        hint: 'add --managed-instances, or drop --concurrency (on demand, one invoke runs at a time)',
      });
    }
    return undefined;
  }
  const maxConcurrency =
    args.concurrency === undefined
      ? defaultManagedInstancesConcurrency
      : numberFlag('concurrency', args.concurrency, {
          minimum: 1,
          maximum: maxManagedInstancesConcurrency,
          whole: true,
        });
  return { maxConcurrency };
}

/** How long, at least, the environment stays frozen between invokes by default: enough to stop a timer, not to slow a run. */
export const defaultFreezeMs = 20;

/** On demand, the environment is frozen between invokes unless --no-freeze; Managed Instances are never frozen. */
function freezeMs(args: DevArguments): number | undefined {
  const given = args['freeze-ms'];
  if (given !== undefined && (args['managed-instances'] === true || !args.freeze)) {
    throw new CliError(
      `--freeze-ms: ${args['managed-instances'] === true ? 'Managed Instances are never frozen' : 'contradicts --no-freeze'}`,
      { code: 'E_USAGE', exitCode: 2, hint: 'drop --freeze-ms' },
    );
  }
  if (args['managed-instances'] === true || !args.freeze) return undefined;
  return given === undefined ? defaultFreezeMs : numberFlag('freeze-ms', given, { minimum: 0, maximum: 3_600_000 });
}

function parseEnv(pairs: string[] = []): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new CliError(`--env: expected KEY=VALUE, got "${pair}"`, { code: 'E_USAGE', exitCode: 2 });
    environment[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return environment;
}

/** One timeline line, coloured on a terminal: verdicts red, notes yellow, extension output dim. */
function printEntry(entry: TimelineEntry, format: (entry: TimelineEntry) => string): void {
  const line = format(entry);
  const painted =
    entry.kind === 'verdict'
      ? red(line)
      : entry.kind === 'note' || entry.kind === 'telemetry'
        ? yellow(line)
        : entry.kind === 'output'
          ? dim(line)
          : line;
  process.stdout.write(`${painted}\n`);
}

/** What the report holds of a flood of output, when it does not hold all of it. */
function outputNote(report: EmulatorReport): string {
  const { linesCut, maxLineBytes, timelineEntriesLeftOut } = report.output;
  const parts = [
    linesCut > 0 ? `${linesCut} output line(s) cut at ${maxLineBytes} bytes` : '',
    timelineEntriesLeftOut > 0 ? `${timelineEntriesLeftOut} timeline entries left out` : '',
  ].filter((part) => part !== '');
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}

/**
 * The last line of a run: what happened, and why fewer invokes ran than asked
 * for. Extension names and error types come from the layer, hence printableLine.
 */
function summary(report: EmulatorReport, requestedInvokes: number): string {
  return printableLine(`${outcome(report, requestedInvokes)}${outputNote(report)}`, 4000);
}

function concurrency(report: EmulatorReport): string {
  return report.computeMode === 'managed-instances'
    ? ` on Managed Instances (at most ${report.maxInFlight} of ${report.maxConcurrency} in flight)`
    : '';
}

/** Under CPU emulation, the last line says so: its durations are not Lambda's. */
function emulated(report: EmulatorReport): string {
  const emulation = report.cpuEmulation;
  if (emulation === undefined) return '';
  const how = emulation.mode === 'binfmt' ? 'through binfmt_misc' : `under ${path.basename(emulation.emulator)}`;
  return ` (${emulation.architecture} ${how}: timings are emulated)`;
}

function outcome(report: EmulatorReport, requestedInvokes: number): string {
  return `${lifecycleOutcome(report, requestedInvokes)}${emulated(report)}`;
}

function lifecycleOutcome(report: EmulatorReport, requestedInvokes: number): string {
  const ran = report.invokes.length;
  if (report.status === 'passed') {
    return `passed: ${ran} invoke(s)${concurrency(report)}, ${report.extensions.length} extension(s), no verdicts`;
  }
  const interrupted = report.interrupted ? `interrupted after ${ran} of ${requestedInvokes} invoke(s)` : '';
  if (report.status === 'interrupted') return `${interrupted}, then a Shutdown cut to 500 ms; no verdicts`;
  const failedInit = report.inits.find((init) => init.status !== 'success');
  const skipped =
    ran === 0 && failedInit !== undefined
      ? `no invoke ran: Init failed (INIT_REPORT Status: ${failedInit.status}), and Lambda does not invoke a failed environment`
      : ran < requestedInvokes && !report.interrupted
        ? `stopped after ${ran} of ${requestedInvokes} invoke(s): the environment failed`
        : '';
  const verdicts = report.verdicts
    .map((verdict) => `${verdict.extension} ${verdict.errorType} (${verdict.kind})`)
    .join('; ');
  return `failed: ${verdicts}${[skipped, interrupted]
    .filter((part) => part !== '')
    .map((part) => `; ${part}`)
    .join('')}`;
}

function verdictError(report: EmulatorReport): CliError {
  return new CliError(
    `the extension failed in the emulator: ${report.verdicts.map((verdict) => `${verdict.extension}: ${verdict.errorType}`).join(', ')}`,
    {
      code: 'E_DEV_EXTENSION_FAILED',
      exitCode: 1,
      hint: 'each verdict line in the timeline (or "verdicts" in --json) says what Lambda would report and why',
    },
  );
}

function devOptions(args: DevArguments, printTimeline: ((entry: TimelineEntry) => void) | undefined) {
  const progress = showsProgress(args.json);
  return {
    projectDirectory: args.cwd,
    layer: args.layer,
    architecture: args.arch,
    emulation: args.emulation,
    // Without --invokes: one, or one per event of --event.
    invokes: args.invokes === undefined ? undefined : numberFlag('invokes', args.invokes, { minimum: 1, whole: true }),
    intervalMs: numberFlag('interval', args.interval, { minimum: 0 }),
    function: {
      durationMs: numberFlag('function-duration', args['function-duration'], { minimum: 0 }),
      error: args['function-error'] === true,
      logLines: args['function-log'] ?? [],
      timeoutSeconds: numberFlag('timeout', args.timeout, { minimum: 0.001, maximum: 900, lambdaRange: true }),
    },
    initTimeoutMs: numberFlag('init-timeout', args['init-timeout'], { minimum: 1 }),
    memorySizeMB: numberFlag('memory', args.memory, { minimum: 128, maximum: 10_240, whole: true, lambdaRange: true }),
    env: parseEnv(args.env),
    managedInstances: managedInstances(args),
    tenantId: args['tenant-id'],
    freezeMs: freezeMs(args),
    onTimeline: printTimeline,
    // Progress is for a person at a terminal; warnings and errors while watching go out always.
    onStatus: (message: string, kind: DevStatusKind) => {
      // Messages can quote the layer (a zip's entry names, a changed file's name): escaped.
      const text = escapeControlCharacters(message);
      if (kind !== 'progress' || progress) process.stderr.write(`${kind === 'progress' ? cyan(text) : text}\n`);
    },
    onBuildOutput: (chunk: string) => process.stderr.write(chunk),
    typecheck: typecheckFlag(args.typecheck),
    nodePath: args.node,
    functionCode: functionCode(args),
  };
}

/** --function and its companions; --no-function runs the simulated handler whatever dev.function says. */
function functionCode(args: DevArguments): DevFunctionOptions | false {
  if (args.function === false) {
    const stray = (['runtime', 'handler', 'event', 'python', 'pass-aws-credentials'] as const).filter(
      (flag) => args[flag] !== undefined && args[flag] !== false,
    );
    if (stray.length > 0)
      throw new CliError(`--no-function: runs the simulated handler, so --${stray.join(', --')} cannot apply`, {
        code: 'E_USAGE',
        exitCode: 2,
        hint: `drop --no-function to run the real function, or drop --${stray.join(' --')}`,
      });
    return false;
  }
  if (args.function === '') {
    throw new CliError('--function: expected a folder or a zip, got an empty string', {
      code: 'E_USAGE',
      exitCode: 2,
      hint: 'pass --function PATH, or --no-function for the simulated handler',
    });
  }
  if (args.event === '-' && process.stdin.isTTY) {
    // Otherwise the run seems to hang: it is waiting for the events.
    process.stderr.write(dim('reading the events from the terminal: type JSON, then Ctrl-D\n'));
  }
  return {
    path: args.function,
    runtime: args.runtime,
    handler: args.handler,
    event: args.event,
    pythonPath: args.python,
    passAwsCredentials: args['pass-aws-credentials'],
    stdin: process.stdin,
    hostEnvironment: process.env,
  };
}

/** Runs (or watches) the layer and prints the timeline and the report; a failed run throws its verdicts. */
async function runDevCommand(args: DevArguments): Promise<void> {
  const [{ runDev, watchDev }, { formatTimelineEntry }, { assertDevHost }] = await Promise.all([
    import('../../core/dev/index.js'),
    import('../../core/emulator/timeline.js'),
    import('../../core/hosts.js'),
  ]);
  assertDevHost();
  const json = args.json === true;
  const options = devOptions(args, json ? undefined : (entry) => printEntry(entry, formatTimelineEntry));
  const printReport = (report: EmulatorReport) => {
    const text = summary(report, options.invokes ?? report.invokes.length);
    process.stdout.write(
      json ? `${JSON.stringify(report, null, 2)}\n` : `${report.status === 'failed' ? red(text) : text}\n`,
    );
  };
  // Ctrl-C (or SIGTERM) cuts the current Init or invoke short, runs a Shutdown of at most 500 ms and
  // reports; a second Ctrl-C quits at once, and exit hooks still kill every process of the layer.
  const windDown = {
    onInterrupt: () => {
      if (showsProgress(args.json))
        process.stderr.write(dim('stopping: Shutdown runs first (Ctrl-C again to quit at once)\n'));
    },
  };
  await withInterruption(async (signal) => {
    if (args.watch === true) return watchDev({ ...options, signal, onReport: printReport });
    const report = await runDev({ ...options, signal });
    printReport(report);
    if (report.status === 'failed' && !signal.aborted) throw verdictError(report);
  }, windDown);
}

/** The runtimes --runtime takes, for the help text (core/function/runtimes.ts checks them). */
const functionRuntimeNames = 'provided.al2023, python3.9 to python3.14, nodejs22.x, nodejs24.x';

/** ext dev's flags; the handler turns them into one DevOptions object (devOptions). */
const devFlags = {
  layer: {
    type: 'string',
    describe: 'A layer zip or directory (the folder that becomes /opt)',
    defaultDescription: 'build the project for --arch (this machine by default)',
  },
  arch: {
    type: 'string',
    choices: ['x86_64', 'arm64'] as const,
    describe: "The function's architecture; another one than this machine's runs under qemu",
    defaultDescription:
      "the layer's (from its ELF files); when building, this machine's if the project builds it, else the project's",
  },
  emulation: {
    type: 'string',
    choices: ['auto', 'binfmt', 'qemu', 'off'] as const,
    default: 'auto' as const,
    describe: 'How a foreign-architecture layer runs: a binfmt_misc handler, qemu-<arch> from PATH, either, or not',
  },
  function: {
    type: 'string',
    requiresArg: true,
    describe:
      "Run this real function beside the layer, on the Runtime API: its folder (Lambda's /var/task) or deployment zip; --no-function runs the simulated handler",
    defaultDescription: '"dev.function" in lambda-extension.json, else the simulated handler',
  },
  runtime: {
    type: 'string',
    requiresArg: true,
    describe: `With --function: the Lambda runtime that runs it (${functionRuntimeNames})`,
    defaultDescription: '"dev.function.runtime"',
  },
  handler: {
    type: 'string',
    requiresArg: true,
    describe: "With --function: Lambda's handler setting (_HANDLER)",
    defaultDescription: 'index.handler (nodejs), lambda_function.lambda_handler (python), bootstrap (provided)',
  },
  event: {
    type: 'string',
    requiresArg: true,
    describe:
      'With --function: a JSON file with the event; a JSON array or JSON Lines gives one invoke each; - reads stdin',
    defaultDescription: '"dev.function.event", else {}',
  },
  python: {
    type: 'string',
    requiresArg: true,
    describe: "With a python3.x function: the python that runs it (and AWS's awslambdaric)",
    defaultDescription: 'python3.<x> on PATH, else python3',
  },
  'pass-aws-credentials': {
    type: 'boolean',
    describe:
      "Give the function and the extensions this shell's AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (else they get none)",
  },
  invokes: {
    // A string, so that "abc" reaches numberFlag as typed; there is no default, so its absence shows.
    type: 'string',
    requiresArg: true,
    describe: 'Number of invocations',
    defaultDescription: '1, or one per event of --event',
  },
  interval: { default: 0, requiresArg: true, describe: 'Pause between invocations, in ms' },
  'function-duration': {
    default: 50,
    requiresArg: true,
    describe: 'How long the simulated handler runs, in ms',
  },
  'function-error': {
    type: 'boolean',
    describe: 'The simulated handler returns an error (status error; the environment is kept, as on Lambda)',
  },
  'function-log': {
    type: 'string',
    array: true,
    describe: 'A line the handler prints on each invoke (repeatable)',
  },
  'tenant-id': {
    type: 'string',
    requiresArg: true,
    describe: 'The tenant each invoke is for (tenant isolation): platform.start, runtimeDone and report carry it',
  },
  timeout: {
    default: 3,
    requiresArg: true,
    describe: 'Function timeout in seconds (bounds each invoke, extensions included)',
  },
  'init-timeout': { default: 10_000, requiresArg: true, describe: 'Init phase limit in ms (Lambda: 10,000)' },
  memory: { default: 128, requiresArg: true, describe: 'Function memory size in MB' },
  env: { type: 'string', array: true, describe: 'A function environment variable KEY=VALUE (repeatable)' },
  'managed-instances': {
    type: 'boolean',
    describe:
      'Emulate Lambda Managed Instances: concurrent invokes, SHUTDOWN-only extensions, Telemetry schema 2025-01-29, no Logs API',
  },
  concurrency: {
    // A string, so that "abc" reaches numberFlag as typed; there is no default, so its absence shows.
    type: 'string',
    requiresArg: true,
    describe: `With --managed-instances: invokes in flight at most (1 to ${maxManagedInstancesConcurrency})`,
    defaultDescription: String(defaultManagedInstancesConcurrency),
  },
  freeze: {
    type: 'boolean',
    default: true,
    describe:
      'On demand, freeze the environment between invokes as Lambda does (SIGSTOP/SIGCONT every process of the layer); --no-freeze turns it off',
  },
  'freeze-ms': {
    type: 'string',
    requiresArg: true,
    describe: 'How long the environment stays frozen between invokes, at least (the pause is --interval when longer)',
    defaultDescription: String(defaultFreezeMs),
  },
  watch: { type: 'boolean', describe: 'Rebuild (or re-read the layer) and restart on changes' },
  ...typecheckOption,
  node: {
    type: 'string',
    requiresArg: true,
    describe: 'TypeScript: the node binary to run the extension on; with a nodejs*.x --function, the function too',
    defaultDescription:
      'the Linux node of the project\'s runtime ("nodeVersion", else 22) for --arch, fetched from npm once',
  },
  ...projectOptions,
} as const;

export const devCommand: CommandModule<object, DevArguments> = {
  command: 'dev',
  describe:
    'Run the layer locally the way Lambda does: Extensions API, Telemetry API, Init/Invoke/Shutdown and verdicts; with --function, beside your real function on the Runtime API',
  builder: (yargs) =>
    yargs
      .options(devFlags)
      .example('$0 dev --invokes 5', 'Build for this machine, then Init, 5 invokes and Shutdown')
      .example('$0 dev --layer dist/my-ext-x86_64.zip --json', 'Run a packed layer; print one JSON report')
      .example('$0 dev --function-duration 4000 --timeout 3', 'Simulate a function timeout (SHUTDOWN reason "timeout")')
      .example(
        '$0 dev --managed-instances --concurrency 4 --invokes 8',
        'Lambda Managed Instances: 8 invokes, at most 4 at once',
      )
      .example(
        '$0 dev --invokes 3 --freeze-ms 5000',
        'Keep the environment frozen 5 s between invokes: timers stop, requests straddle the freeze',
      )
      .example('$0 dev --arch arm64 --invokes 3', 'Build for arm64 and run it under qemu-aarch64 (x86_64 host)')
      .example(
        '$0 dev --function example-function --runtime nodejs22.x --event event.json',
        'Run the real function beside the extension, one invoke per event',
      )
      .example(
        '$0 dev --function dist/function.zip --runtime provided.al2023 --event - < events.jsonl',
        'A Go function (its bootstrap), with events from stdin',
      )
      .example('$0 dev --watch', 'Rebuild and restart when sources change')
      .example('$0 dev --node "$(command -v node)"', "TypeScript: run on this machine's node, not the runtime's"),
  handler: (args) => runDevCommand(args),
};

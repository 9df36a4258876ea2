import type { CommandModule } from 'yargs';
import type { EmulatorReport, TimelineEntry } from '../../core/emulator/types.js';
import { CliError } from '../../core/errors.js';
import { projectOptions } from '../options.js';
import { cyan, dim, red, yellow } from '../terminal.js';

interface DevArguments {
  layer?: string;
  invokes: number;
  interval: number;
  'function-duration': number;
  'function-error'?: boolean;
  'function-log'?: string[];
  timeout: number;
  'init-timeout': number;
  memory: number;
  env?: string[];
  watch?: boolean;
  cwd: string;
  json?: boolean;
}

function positive(name: string, value: number, minimum = 0): number {
  if (!Number.isFinite(value) || value < minimum) {
    throw new CliError(`--${name}: expected a number >= ${minimum}, got ${String(value)}`, { exitCode: 2 });
  }
  return value;
}

function parseEnv(pairs: string[] = []): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new CliError(`--env: expected KEY=VALUE, got "${pair}"`, { exitCode: 2 });
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

function summary(report: EmulatorReport): string {
  if (report.status === 'passed') {
    return `passed: ${report.invokes.length} invoke(s), ${report.extensions.length} extension(s), no verdicts`;
  }
  return `failed: ${report.verdicts.map((verdict) => `${verdict.extension} ${verdict.errorType} (${verdict.kind})`).join('; ')}`;
}

function verdictError(report: EmulatorReport): CliError {
  return new CliError(
    `the extension failed in the emulator: ${report.verdicts.map((verdict) => `${verdict.extension}: ${verdict.errorType}`).join(', ')}`,
    {
      exitCode: 1,
      hint: 'each verdict line in the timeline (or "verdicts" in --json) says what Lambda would report and why',
    },
  );
}

export const devCommand: CommandModule<object, DevArguments> = {
  command: 'dev',
  describe:
    'Run the layer locally the way Lambda does: Extensions API, Telemetry API, Init/Invoke/Shutdown and verdicts',
  builder: (yargs) =>
    yargs
      .options({
        layer: {
          type: 'string',
          describe: 'A layer zip or directory (the folder that becomes /opt)',
          defaultDescription: 'build the project for this machine',
        },
        invokes: { type: 'number', default: 1, describe: 'Number of invocations' },
        interval: { type: 'number', default: 0, describe: 'Pause between invocations, in ms' },
        'function-duration': { type: 'number', default: 50, describe: 'How long the simulated handler runs, in ms' },
        'function-error': { type: 'boolean', describe: 'The simulated handler returns an error' },
        'function-log': {
          type: 'string',
          array: true,
          describe: 'A line the handler prints on each invoke (repeatable)',
        },
        timeout: {
          type: 'number',
          default: 3,
          describe: 'Function timeout in seconds (bounds each invoke, extensions included)',
        },
        'init-timeout': { type: 'number', default: 10_000, describe: 'Init phase limit in ms (Lambda: 10,000)' },
        memory: { type: 'number', default: 128, describe: 'Function memory size in MB' },
        env: { type: 'string', array: true, describe: 'A function environment variable KEY=VALUE (repeatable)' },
        watch: { type: 'boolean', describe: 'Rebuild (or re-read the layer) and restart on changes' },
        ...projectOptions,
      })
      .example('$0 dev --invokes 5', 'build for this machine, then Init, 5 invokes and Shutdown')
      .example('$0 dev --layer dist/my-ext-x86_64.zip --json', 'run a packed layer; print one JSON report')
      .example('$0 dev --function-duration 4000 --timeout 3', 'simulate a function timeout (SHUTDOWN reason "timeout")')
      .example('$0 dev --watch', 'rebuild and restart when sources change'),
  handler: async (args) => {
    const [{ runDev, watchDev }, { formatTimelineEntry }] = await Promise.all([
      import('../../core/dev.js'),
      import('../../core/emulator/timeline.js'),
    ]);
    const json = args.json === true;
    const options = {
      projectDirectory: args.cwd,
      layer: args.layer,
      invokes: positive('invokes', args.invokes, 1),
      intervalMs: positive('interval', args.interval),
      function: {
        durationMs: positive('function-duration', args['function-duration']),
        error: args['function-error'] === true,
        logLines: args['function-log'] ?? [],
        timeoutSeconds: positive('timeout', args.timeout, 0.001),
      },
      initTimeoutMs: positive('init-timeout', args['init-timeout'], 1),
      memorySizeMB: positive('memory', args.memory, 128),
      env: parseEnv(args.env),
      onTimeline: json ? undefined : (entry: TimelineEntry) => printEntry(entry, formatTimelineEntry),
      onStatus: (message: string) => process.stderr.write(`${cyan(message)}\n`),
      onBuildOutput: (chunk: string) => process.stderr.write(chunk),
    };
    const printReport = (report: EmulatorReport) =>
      process.stdout.write(
        json
          ? `${JSON.stringify(report, null, 2)}\n`
          : `${report.status === 'passed' ? summary(report) : red(summary(report))}\n`,
      );
    if (args.watch === true) {
      const controller = new AbortController();
      const stop = () => (controller.signal.aborted ? process.exit(130) : controller.abort());
      process.on('SIGINT', stop).on('SIGTERM', stop);
      await watchDev({ ...options, signal: controller.signal, onReport: printReport });
      return;
    }
    const controller = new AbortController();
    // Ctrl-C: finish the current invoke, run a normal Shutdown, report; a second Ctrl-C quits at once.
    process.once('SIGINT', () => {
      controller.abort();
      process.once('SIGINT', () => process.exit(130));
    });
    const report = await runDev({ ...options, signal: controller.signal });
    printReport(report);
    if (report.status === 'failed') throw verdictError(report);
  },
};

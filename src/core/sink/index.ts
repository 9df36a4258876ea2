/**
 * `ext dev --sink`: a local receiver for the extension's own HTTP
 * destination, and how late each function log line reached it.
 */
import { listExtensionFiles } from '../layer/extensions.js';
import type { EmulatorOptions, EmulatorReport } from '../emulator/index.js';
import { DeliveryTracker } from './delivery.js';
import { startSinkReceiver } from './receiver.js';
import { sinkEnvironment } from './settings.js';
import { distribution, type Distribution } from './statistics.js';

export { DeliveryTracker, functionRecordOf } from './delivery.js';
export { parseBatch, startSinkReceiver, type ShippedEnvelope, type SinkReceiver } from './receiver.js';
export { settingsPrefixFor, sinkEnvironment } from './settings.js';
export { distribution, percentile, type Distribution } from './statistics.js';

/** The `sink` section of `ext dev --sink`'s report. */
export interface SinkReport {
  /** Where the receiver listened: the extensions' `<PREFIX>HTTP_URL`. */
  url: string;
  /** The function environment variables ext dev set to point the extensions at it. */
  variables: string[];
  /** Requests that carried a JSON array of records. */
  batches: number;
  /** Requests that did not (refused with 400 or 413). */
  malformedRequests: number;
  /** Function log lines the function printed, each a `function` Telemetry record. */
  linesProduced: number;
  /** Of those, the lines the sink received. */
  linesReceived: number;
  /** `function` records received that match no line produced (sent twice, or made up). */
  unexpectedRecords: number;
  /** From a line's production to its arrival at the sink, over the lines received; absent when none came. */
  deliveryDelayMs?: Distribution | undefined;
  /**
   * The time the extensions added to each invoke after the runtime's response (Lambda's
   * PostRuntimeExtensionsDuration: until the last extension's next `next`); absent without invokes.
   */
  postRuntimeMs?: Distribution | undefined;
  invokes: number;
}

/** What `ext dev` reports: the emulator's report, with the sink's figures under --sink. */
export type DevReport = EmulatorReport & { sink?: SinkReport | undefined };

/**
 * Runs `run` with a sink receiver when `enabled`: every extension of the layer
 * gets `<PREFIX>SINK=http` and `<PREFIX>HTTP_URL=<receiver>` in its
 * environment (over the same variables given with --env), the timeline's
 * function log lines are timed as produced, and the report gains `sink`.
 */
export async function runWithSink(
  enabled: boolean | undefined,
  options: EmulatorOptions,
  run: (options: EmulatorOptions) => Promise<EmulatorReport>,
): Promise<DevReport> {
  if (enabled !== true) return run(options);
  const tracker = new DeliveryTracker();
  const receiver = await startSinkReceiver((envelopes, atMs) => tracker.received(envelopes, atMs));
  try {
    const files = options.extensionFiles ?? (await listExtensionFiles(options.layerDirectory));
    const variables = sinkEnvironment(
      files.map((file) => file.name),
      receiver.url,
    );
    const onTimeline = options.onTimeline;
    const report = await run({
      ...options,
      env: { ...options.env, ...variables },
      onTimeline: (entry) => {
        // Timed first: printing the entry takes longer than producing it.
        tracker.observe(entry, performance.now());
        onTimeline?.(entry);
      },
    });
    return {
      ...report,
      sink: sinkReport(tracker, receiver.url, Object.keys(variables), report, receiver.malformedRequests),
    };
  } finally {
    await receiver.close();
  }
}

function sinkReport(
  tracker: DeliveryTracker,
  url: string,
  variables: string[],
  report: EmulatorReport,
  malformedRequests: number,
): SinkReport {
  const postRuntime = report.invokes.map((invoke) => invoke.postRuntimeExtensionsDurationMs);
  return {
    url,
    variables,
    batches: tracker.batches,
    malformedRequests,
    linesProduced: tracker.linesProduced,
    linesReceived: tracker.linesReceived,
    unexpectedRecords: tracker.unexpectedRecords,
    deliveryDelayMs: tracker.deliveryDelay(),
    postRuntimeMs: distribution(postRuntime),
    invokes: report.invokes.length,
  };
}

/** One line for the text report: what arrived, how late, and what it cost each invoke. */
export function formatSinkReport(sink: SinkReport): string {
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  const delay = sink.deliveryDelayMs;
  const postRuntime = sink.postRuntimeMs;
  const parts = [
    `sink: ${sink.linesReceived} of ${sink.linesProduced} function log line(s) received in ${sink.batches} batch(es)`,
    delay === undefined
      ? 'no delivery delay (nothing received)'
      : `delivery delay p50 ${ms(delay.p50)}, p99 ${ms(delay.p99)}, max ${ms(delay.max)}`,
    postRuntime === undefined
      ? ''
      : `post-runtime time per invoke p50 ${ms(postRuntime.p50)}, p99 ${ms(postRuntime.p99)}`,
    sink.unexpectedRecords > 0 ? `${sink.unexpectedRecords} unexpected record(s)` : '',
    sink.malformedRequests > 0 ? `${sink.malformedRequests} malformed request(s)` : '',
  ].filter((part) => part !== '');
  const hint =
    sink.batches === 0
      ? `; nothing reached ${sink.url}: does the extension ship to <PREFIX>HTTP_URL when <PREFIX>SINK=http (the telemetry template does)?`
      : '';
  return `${parts.join('; ')}${hint}`;
}

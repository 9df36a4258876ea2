/**
 * What this extension does at each step of the lifecycle that
 * src/extension.ts runs: subscribe during setup, ship at every invoke, drain
 * at shutdown. The moving parts are in src/pipeline.ts.
 */
import { ConfigError, loadConfig, type LoadConfigOptions } from './config.js';
import { ExtensionError, type Handlers } from './extension.js';
import type { EventType } from './extensions-api.js';
import { TelemetryPipeline, type PipelineOptions } from './pipeline.js';

/**
 * Both events, always: every invoke ends with a flush, and SHUTDOWN is the
 * last chance to ship (without it Lambda would SIGKILL the extension with
 * records still queued).
 */
export const events: EventType[] = ['INVOKE', 'SHUTDOWN'];

/**
 * Flushes end this long before the work's deadline, so the summary line is
 * written before src/extension.ts stops waiting and calls next (or exits).
 */
export const wrapUpMs = 50;

export interface TelemetryHandlers extends Handlers {
  /** The running pipeline, once setup has succeeded. */
  readonly pipeline: TelemetryPipeline | undefined;
}

/** Fresh handlers with their own pipeline; `overrides` replace parts of it (tests, a custom sink). */
export function createTelemetryHandlers(overrides: Pick<PipelineOptions, 'sink' | 'shipper'> & LoadConfigOptions = {}): TelemetryHandlers {
  let pipeline: TelemetryPipeline | undefined;
  const { heapLimitBytes, ...pipelineOverrides } = overrides;

  const drain = async (deadline: number, signal: AbortSignal): Promise<void> => {
    if (!pipeline) return;
    await pipeline.flush(deadline - wrapUpMs, signal, true);
    pipeline.finalReport();
    await pipeline.close();
  };

  return {
    get pipeline() {
      return pipeline;
    },

    // Runs during init, after register: Lambda accepts subscriptions only then.
    async setup({ log, name, version, identifier, settingsPrefix, env }) {
      let config;
      try {
        config = loadConfig(settingsPrefix, env, heapLimitBytes === undefined ? {} : { heapLimitBytes });
      } catch (error) {
        if (error instanceof ConfigError) throw new ExtensionError('Extension.ConfigInvalid', error.message);
        throw error;
      }
      if (config.logLevel) log.level = config.logLevel;
      const runtimeApi = env['AWS_LAMBDA_RUNTIME_API'];
      if (!runtimeApi) throw new ExtensionError('Extension.ConfigInvalid', 'AWS_LAMBDA_RUNTIME_API is not set');
      try {
        pipeline = await TelemetryPipeline.start({ name, version, config, log, runtimeApi, identifier, ...pipelineOverrides });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new ExtensionError('Extension.TelemetrySubscriptionFailed', message, { cause: error });
      }
    },

    // Runs in parallel with the function's handler, and the invocation lasts
    // until it returns: ship what has arrived so far (the previous invoke's
    // platform.runtimeDone and platform.report come only after it ended),
    // within the deadline, then let the loop call next.
    async invoke(event, { signal, deadline }) {
      if (!pipeline) return;
      await pipeline.flush(deadline - wrapUpMs, signal);
      pipeline.summarize(event.requestId);
    },

    // Wait briefly for the last batch Lambda delivers during Shutdown, ship
    // with every retry the deadline allows, report the totals.
    async shutdown(_event, { signal, deadline }) {
      if (!pipeline) return;
      await pipeline.awaitFinalBatch(deadline - wrapUpMs);
      await drain(deadline, signal);
    },

    // SIGTERM or SIGINT (a local run stopped): a short last flush.
    async stop({ signal, deadline }) {
      await drain(deadline, signal);
    },
  };
}

/** debug: this extension's own lines come back to it as telemetry and add to the function's log volume. */
export const eventLogLevel = 'debug';

export const handlers = createTelemetryHandlers();

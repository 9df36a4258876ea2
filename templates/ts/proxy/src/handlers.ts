/**
 * What this extension does at each step of the lifecycle that
 * src/extension.ts runs. The proxy itself starts earlier, in src/index.ts
 * (see startProxy): Lambda starts the function's runtime, through the
 * wrapper, as soon as every extension has registered, so the port must be
 * open before the extension registers. Your per-invocation code goes in
 * src/hooks.ts.
 */
import { ConfigError, loadConfig } from './config.js';
import { ExtensionError, settingsPrefixFor, type Handlers } from './extension.js';
import type { EventType } from './extensions-api.js';
import * as projectHooks from './hooks.js';
import type { Logger } from './log.js';
import { RuntimeApiProxy, type Hooks } from './proxy.js';

/**
 * SHUTDOWN only, in both Lambda modes: the proxy sees every invocation
 * through the runtime's own calls, and Lambda Managed Instances refuse INVOKE
 * from external extensions anyway.
 */
export const events: EventType[] = ['SHUTDOWN'];

/** debug: a line per invoke (the lifecycle's, and the proxy's) is a CloudWatch bill for lines rarely read. */
export const eventLogLevel = 'debug';

/** How the proxy's start went: running, or the error to report as the init error once registered. */
export type ProxyStart = { proxy: RuntimeApiProxy; error?: undefined } | { proxy?: undefined; error: ExtensionError };

export interface StartProxyOptions {
  /** The extension's name: its settings are <PREFIX>PORT and <PREFIX>LOG_LEVEL. */
  name: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
  /** Default src/hooks.ts. */
  hooks?: Hooks;
  /** Replaces <PREFIX>PORT (tests: 0 for a free port). */
  port?: number;
}

/**
 * Reads the settings and starts listening. Never throws: a bad setting or a
 * taken port is returned, for setup to report to Lambda as this extension's
 * init error after registering (before it, nobody would hear of it).
 */
export async function startProxy(options: StartProxyOptions): Promise<ProxyStart> {
  const prefix = settingsPrefixFor(options.name);
  let config;
  try {
    config = loadConfig(prefix, options.env);
  } catch (error) {
    if (error instanceof ConfigError) return { error: new ExtensionError('Extension.ConfigInvalid', error.message) };
    throw error;
  }
  if (config.logLevel) options.log.level = config.logLevel;
  const runtimeApi = options.env['AWS_LAMBDA_RUNTIME_API'];
  if (!runtimeApi) return { error: new ExtensionError('Extension.ConfigInvalid', 'AWS_LAMBDA_RUNTIME_API is not set') };
  const port = options.port ?? config.port;
  try {
    const proxy = await RuntimeApiProxy.listen({ runtimeApi, port, hooks: options.hooks ?? projectHooks, log: options.log });
    return { proxy };
  } catch (error) {
    const message = `the proxy cannot listen on 127.0.0.1:${port} (${error instanceof Error ? error.message : String(error)}); set ${prefix}PORT to a free port`;
    return { error: new ExtensionError('Extension.ProxyListenFailed', message, { cause: error }) };
  }
}

/** The lifecycle handlers for a proxy started by startProxy. */
export function createProxyHandlers(started: ProxyStart): Handlers {
  const close = async (): Promise<void> => {
    await started.proxy?.close();
  };
  return {
    setup({ log, name }) {
      if (started.error) throw started.error;
      log.info('proxy listening', { address: `127.0.0.1:${started.proxy.port}`, wrapper: `/opt/${name}-wrapper` });
    },
    // The runtime has been stopped before SHUTDOWN reaches extensions: only a
    // call cut short can be left, and closing drops it.
    async shutdown(event, { log }) {
      log.info('proxy stopping', { shutdownReason: event.shutdownReason, waiting: started.proxy?.waiting ?? 0 });
      await close();
    },
    async stop() {
      await close();
    },
  };
}

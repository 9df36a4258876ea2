/**
 * The extension's configuration. The settings AWS's Parameters and Secrets
 * Lambda Extension has are read from the same variables, so a function
 * configured for it keeps its settings; the ones it lacks carry the
 * extension's own prefix (my-ext reads MY_EXT_STALE_ON_ERROR).
 */
import { isLogLevel, type LogLevel } from './log.js';

export interface Config {
  port: number;
  cacheEnabled: boolean;
  cacheSize: number;
  cacheMaxBytes: number;
  ssmTtlMs: number;
  secretsTtlMs: number;
  /** 0: no limit of its own; the invoke's deadline still bounds the call. */
  ssmTimeoutMs: number;
  secretsTimeoutMs: number;
  maxConnections: number;
  /** undefined with PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL=none: nothing is logged. */
  logLevel: LogLevel | undefined;
  staleOnError: boolean;
}

export const defaults: Config = {
  port: 2773,
  cacheEnabled: true,
  cacheSize: 1000,
  cacheMaxBytes: 16 * 1024 * 1024,
  ssmTtlMs: 300_000,
  secretsTtlMs: 300_000,
  ssmTimeoutMs: 0,
  secretsTimeoutMs: 0,
  maxConnections: 3,
  logLevel: 'info',
  staleOnError: false,
};

export const maxTtlMs = 300_000;
export const maxCacheSize = 1000;
/** The Runtime and Extensions API's own port. */
export const reservedPort = 9001;
/** The cache may hold at most this fraction of the function's memory (AWS_LAMBDA_FUNCTION_MEMORY_SIZE). */
export const memoryPerCachedByte = 4;

/** Every problem with the settings at once, each naming its variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Whether anything is cached: AWS's extension caches nothing when the cache is disabled, its size is 0, or both TTLs are 0. */
export function caching(config: Config): boolean {
  return config.cacheEnabled && config.cacheSize > 0 && (config.ssmTtlMs > 0 || config.secretsTtlMs > 0);
}

export function loadConfig(settingsPrefix: string, env: NodeJS.ProcessEnv): Config {
  const config: Config = { ...defaults };
  const problems: string[] = [];
  const problem = (key: string, value: string, message: string): void => void problems.push(`${key}="${value}": ${message}`);
  const read = (key: string): string | undefined => {
    const value = env[key]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const integer = (key: string, low: number, high: number, set: (value: number) => void): void => {
    const value = read(key);
    if (value === undefined) return;
    if (!/^-?\d+$/.test(value) || Number(value) < low || Number(value) > high) return problem(key, value, `want a whole number from ${low} to ${high}`);
    set(Number(value));
  };
  const boolean = (key: string, set: (value: boolean) => void): void => {
    const value = read(key);
    if (value === undefined) return;
    if (!/^(true|false|1|0)$/i.test(value)) return problem(key, value, 'use true or false');
    set(/^(true|1)$/i.test(value));
  };
  // AWS's TTLs are seconds ("300"); "90s" and "5m" work too.
  const ttl = (key: string, set: (value: number) => void): void => {
    const value = read(key);
    if (value === undefined) return;
    const match = /^(\d+)(s|m)?$/.exec(value);
    const ms = match ? Number(match[1]) * (match[2] === 'm' ? 60_000 : 1000) : NaN;
    if (!(ms >= 0 && ms <= maxTtlMs)) return problem(key, value, `want seconds from 0 (no caching) to ${maxTtlMs / 1000}`);
    set(ms);
  };

  integer('PARAMETERS_SECRETS_EXTENSION_HTTP_PORT', 0, 65535, (value) => (config.port = value));
  if (config.port === reservedPort) problem('PARAMETERS_SECRETS_EXTENSION_HTTP_PORT', String(reservedPort), `port ${reservedPort} is Lambda's own API; choose another`);
  boolean('PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED', (value) => (config.cacheEnabled = value));
  integer('PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE', 0, maxCacheSize, (value) => (config.cacheSize = value));
  integer('PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS', 1, 1000, (value) => (config.maxConnections = value));
  ttl('SSM_PARAMETER_STORE_TTL', (value) => (config.ssmTtlMs = value));
  ttl('SECRETS_MANAGER_TTL', (value) => (config.secretsTtlMs = value));
  integer('SSM_PARAMETER_STORE_TIMEOUT_MILLIS', 0, 600_000, (value) => (config.ssmTimeoutMs = value));
  integer('SECRETS_MANAGER_TIMEOUT_MILLIS', 0, 600_000, (value) => (config.secretsTimeoutMs = value));
  const level = read('PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL')?.toLowerCase();
  if (level === 'none') config.logLevel = undefined;
  else if (level !== undefined) {
    if (isLogLevel(level)) config.logLevel = level;
    else problem('PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL', level, 'use debug, info, warn, error or none');
  }
  const bytesKey = `${settingsPrefix}CACHE_MAX_BYTES`;
  integer(bytesKey, 64 * 1024, 1024 * 1024 * 1024, (value) => (config.cacheMaxBytes = value));
  // The extension's memory counts against the function's: a full cache may take at most a quarter of it.
  const memoryMb = Number(env['AWS_LAMBDA_FUNCTION_MEMORY_SIZE']);
  if (Number.isInteger(memoryMb) && memoryMb > 0) {
    const allowed = (memoryMb * 1024 * 1024) / memoryPerCachedByte;
    if (config.cacheMaxBytes > allowed) {
      if (read(bytesKey) === undefined) config.cacheMaxBytes = allowed;
      else problem(bytesKey, String(config.cacheMaxBytes), `the function has ${memoryMb} MB, and the cache may take at most a quarter of it (${allowed} bytes); lower it or give the function more memory`);
    }
  }
  boolean(`${settingsPrefix}STALE_ON_ERROR`, (value) => (config.staleOnError = value));
  if (problems.length > 0) throw new ConfigError(problems.join('; '));
  return config;
}

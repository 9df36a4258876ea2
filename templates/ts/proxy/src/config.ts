/**
 * The proxy's settings, from environment variables that carry the
 * extension's name as a prefix (my-ext reads MY_EXT_PORT): extensions share
 * the function's environment, so a bare PORT would be the function's.
 */
import { isLogLevel, logLevels, type LogLevel } from './log.js';

/** The proxy's port when <PREFIX>PORT is not set; the wrapper script falls back on the same number. */
export const defaultPort = 9009;
/** Lambda's own Runtime and Extensions API port. */
export const reservedPort = 9001;

export interface ProxyConfig {
  port: number;
  logLevel?: LogLevel;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads the settings; throws one ConfigError naming every variable it refuses. */
export function loadConfig(prefix: string, env: NodeJS.ProcessEnv): ProxyConfig {
  const problems: string[] = [];
  const config: ProxyConfig = { port: defaultPort };
  const level = env[`${prefix}LOG_LEVEL`];
  if (level !== undefined && level !== '') {
    if (isLogLevel(level)) config.logLevel = level;
    else problems.push(`${prefix}LOG_LEVEL must be one of ${logLevels.join(', ')}, not "${level}"`);
  }
  const port = env[`${prefix}PORT`];
  if (port !== undefined && port !== '') {
    const number = /^\s*[0-9]{1,5}\s*$/.test(port) ? Number(port) : NaN;
    if (!(number >= 1 && number <= 65535)) {
      problems.push(`${prefix}PORT must be a port from 1 to 65535 (the wrapper script reads the same variable), not "${port}"`);
    } else if (number === reservedPort) {
      problems.push(`${prefix}PORT=${port}: port ${reservedPort} is Lambda's own API; choose another`);
    } else config.port = number;
  }
  if (problems.length > 0) throw new ConfigError(problems.join('; '));
  return config;
}

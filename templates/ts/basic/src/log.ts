/**
 * Structured logs: one JSON object per line on stdout, which Lambda sends to
 * the function's CloudWatch log stream, and to Telemetry API subscribers as
 * `extension` records. Every line carries the `base` fields
 * (`"extension":"<name>"`), which is how a subscriber recognises its own
 * lines and leaves them out: keep it that way.
 */
export const logLevels = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof logLevels)[number];
export type LogFields = Record<string, unknown>;

export interface Logger {
  /** Lines below this level are dropped. */
  level: LogLevel;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

/** The stack of an unexpected error, for the log line that reports it (expected errors read better without). */
export function stackOf(error: unknown): string | undefined {
  return error instanceof Error ? error.stack : undefined;
}

export function isLogLevel(value: string): value is LogLevel {
  return (logLevels as readonly string[]).includes(value);
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Fields added to every line, e.g. the extension name to tell it apart from the function's logs. */
  base?: LogFields;
  write?: (line: string) => void;
}

export function createLogger({ level = 'info', base = {}, write = (line) => process.stdout.write(line) }: LoggerOptions = {}): Logger {
  const logger: Logger = {
    level,
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
  };
  function emit(lineLevel: LogLevel, msg: string, fields: LogFields = {}): void {
    if (logLevels.indexOf(lineLevel) < logLevels.indexOf(logger.level)) return;
    // level and msg come first; neither they nor the base fields (the marker
    // of our own lines) can be overwritten by a field of the same name.
    const line = Object.assign({ level: lineLevel, msg }, base, fields, { level: lineLevel, msg }, base);
    write(`${stringify(line, base)}\n`);
  }
  return logger;
}

function stringify(line: LogFields, base: LogFields): string {
  try {
    return JSON.stringify(line, (_key, value: unknown) => {
      // Own enumerable fields (status, errorType…) are kept; name and message are not enumerable.
      if (value instanceof Error) return Object.assign({ name: value.name, message: value.message }, value);
      return typeof value === 'bigint' ? value.toString() : value;
    });
  } catch (error) {
    // A circular field must not take the extension down with it.
    return JSON.stringify({ level: line['level'], msg: line['msg'], ...base, logError: String(error) });
  }
}

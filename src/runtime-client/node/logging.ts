import { format } from 'node:util';

/*
 * console.* as Lambda's Node.js runtime rewrites it: every line carries the time, the request id and the level.
 * TEXT (the default): `<ISO time>\t<request id>\t<LEVEL>\t<message>`; JSON (AWS_LAMBDA_LOG_FORMAT=JSON): one object
 * `{timestamp, level, requestId, message}` per line. A message's own newlines become carriage returns, so one call
 * is one line (one telemetry record). AWS_LAMBDA_LOG_LEVEL drops the levels below it; console.fatal is added.
 */

interface Level {
  name: string;
  priority: number;
}

const levels: Record<string, Level> = {
  TRACE: { name: 'TRACE', priority: 1 },
  DEBUG: { name: 'DEBUG', priority: 2 },
  INFO: { name: 'INFO', priority: 3 },
  WARN: { name: 'WARN', priority: 4 },
  ERROR: { name: 'ERROR', priority: 5 },
  FATAL: { name: 'FATAL', priority: 6 },
};

/** Where a log line finds the request it belongs to (under Managed Instances, several run at once). */
export interface RequestScope {
  requestId(): string | undefined;
  tenantId(): string | undefined;
}

// Error fields are not enumerable: JSON.stringify would print `{}` for an Error without this.
function jsonErrorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    return {
      errorType: value.constructor?.name ?? 'UnknownError',
      errorMessage: value.message,
      stackTrace: typeof value.stack === 'string' ? value.stack.split('\n') : value.stack,
      ...value,
    };
  }
  return value;
}

function jsonLine(level: Level, scope: RequestScope, parameters: unknown[]): string {
  const record: Record<string, unknown> = {
    timestamp: new Date().toISOString(),
    level: level.name,
    requestId: scope.requestId(),
  };
  const tenantId = scope.tenantId();
  if (tenantId !== undefined) record['tenantId'] = tenantId;
  if (parameters.length === 1) {
    record['message'] = parameters[0];
    try {
      return JSON.stringify(record, jsonErrorReplacer);
    } catch {
      record['message'] = format(parameters[0]);
      return JSON.stringify(record);
    }
  }
  record['message'] = format(...parameters);
  const error = parameters.find((parameter): parameter is Error => parameter instanceof Error);
  if (error) {
    record['errorType'] = error.constructor?.name ?? 'UnknownError';
    record['errorMessage'] = error.message;
    record['stackTrace'] = typeof error.stack === 'string' ? error.stack.split('\n') : [];
  }
  return JSON.stringify(record);
}

function textLine(level: Level, scope: RequestScope, parameters: unknown[]): string {
  return `${new Date().toISOString()}\t${scope.requestId()}\t${level.name}\t${format(...parameters)}`;
}

/** The error shape of TEXT log lines: an Error's name, message, code, own fields and stack lines, after a tab. */
export function formattedError(error: Error): string {
  const withFields = (_key: string, value: unknown): unknown => {
    if (!(value instanceof Error)) return value;
    const fields: Record<string, unknown> = {
      errorType: value.name,
      errorMessage: value.message,
      code: (value as { code?: unknown }).code,
      ...value,
    };
    if (typeof value.stack === 'string') fields['stack'] = value.stack.split('\n');
    return fields;
  };
  try {
    return `\t${JSON.stringify(error, withFields)}`;
  } catch {
    return `\t${JSON.stringify({ errorType: error.name, errorMessage: error.message })}`;
  }
}

export interface RuntimeLogger {
  /** `Invoke Error`, `Uncaught Exception`: the runtime's own ERROR lines about an error. */
  logError(title: string, error: Error): void;
}

/** Replaces console's methods; returns the runtime's own error logger, in the same format. */
export function patchConsole(scope: RequestScope, environment: NodeJS.ProcessEnv = process.env): RuntimeLogger {
  const json = environment['AWS_LAMBDA_LOG_FORMAT']?.toUpperCase() === 'JSON';
  const minimum = levels[environment['AWS_LAMBDA_LOG_LEVEL']?.toUpperCase() ?? '']?.priority ?? 1;
  const write = (level: Level, parameters: unknown[]) => {
    const line = json ? jsonLine(level, scope, parameters) : textLine(level, scope, parameters);
    process.stdout.write(`${line.replace(/\n/g, '\r')}\n`);
  };
  const method = (name: string) => {
    const level = levels[name]!;
    if (level.priority < minimum && name !== 'FATAL') return () => {};
    return (...parameters: unknown[]) => write(level, parameters);
  };
  const target = console as unknown as Record<string, (...parameters: unknown[]) => void>;
  target['trace'] = method('TRACE');
  target['debug'] = method('DEBUG');
  target['info'] = method('INFO');
  target['log'] = target['info'];
  target['warn'] = method('WARN');
  target['error'] = method('ERROR');
  target['fatal'] = method('FATAL');
  return {
    logError: json
      ? (_title, error) => console.error(error)
      : (title, error) => console.error(title, formattedError(error)),
  };
}

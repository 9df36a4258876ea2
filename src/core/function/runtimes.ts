import { CliError, usageError } from '../errors.js';

/**
 * The Lambda runtimes `ext dev --function` runs a function on, by their
 * Lambda identifiers, and what each one means locally.
 */

/** The Python minors Lambda has had runtimes for, that awslambdaric is pinned for (python.ts). */
export const pythonMinors = [9, 10, 11, 12, 13, 14] as const;
/** Lambda's Node.js runtimes (Node 20 reached end of life on 2026-04-30). */
export const nodeMajors = [22, 24] as const;

export const functionRuntimes = [
  'provided.al2023',
  ...pythonMinors.map((minor) => `python3.${minor}` as const),
  ...nodeMajors.map((major) => `nodejs${major}.x` as const),
] as const;
export type FunctionRuntime = (typeof functionRuntimes)[number];

export type RuntimeFamily =
  | { family: 'provided'; name: 'provided.al2023' }
  | { family: 'python'; name: FunctionRuntime; minor: number }
  | { family: 'nodejs'; name: FunctionRuntime; major: number };

/** `--runtime` parsed; an unknown name fails naming the flag and listing the choices. */
export function parseRuntime(name: string, label = '--runtime'): RuntimeFamily {
  if (name === 'provided.al2023') return { family: 'provided', name };
  const python = /^python3\.(\d{1,2})$/.exec(name);
  if (python !== null && (pythonMinors as readonly number[]).includes(Number(python[1]))) {
    return { family: 'python', name: name as FunctionRuntime, minor: Number(python[1]) };
  }
  const node = /^nodejs(\d{2})\.x$/.exec(name);
  if (node !== null && (nodeMajors as readonly number[]).includes(Number(node[1]))) {
    return { family: 'nodejs', name: name as FunctionRuntime, major: Number(node[1]) };
  }
  const hint =
    name === 'provided.al2' || name === 'provided'
      ? 'ext dev runs provided.al2023, which runs the same bootstrap: pass --runtime provided.al2023'
      : /^nodejs(16|18|20)\.x$/.test(name)
        ? `${name} is deprecated on Lambda; pass --runtime nodejs22.x or nodejs24.x`
        : `pass one of ${functionRuntimes.join(', ')}`;
  throw usageError(
    'E_FUNCTION_RUNTIME_UNKNOWN',
    `${label}: ${JSON.stringify(name)} is not a runtime ext dev runs`,
    hint,
  );
}

/** The handler a function has when --handler is not given: Lambda's console defaults. */
export function defaultHandler(runtime: RuntimeFamily): string {
  switch (runtime.family) {
    case 'provided':
      // Lambda passes it on as _HANDLER and the bootstrap may ignore it; Go functions conventionally say "bootstrap".
      return 'bootstrap';
    case 'python':
      return 'lambda_function.lambda_handler';
    case 'nodejs':
      return 'index.handler';
  }
}

/**
 * A handler must be `module.function` for the managed runtimes (the module
 * may sit in a folder: `src/app.handler`); a provided runtime takes any
 * non-empty string without line breaks.
 */
export function checkHandler(handler: string, runtime: RuntimeFamily): void {
  const fail = (problem: string, example: string) =>
    new CliError(`--handler: ${JSON.stringify(handler)} ${problem}`, {
      code: 'E_FUNCTION_HANDLER_INVALID',
      exitCode: 2,
      hint: `pass --handler ${example}`,
    });
  if (handler === '' || /[\s\0]/.test(handler))
    throw fail('must be non-empty, without spaces', defaultHandler(runtime));
  if (runtime.family === 'provided') return;
  const dot = handler.lastIndexOf('.');
  if (dot <= 0 || dot === handler.length - 1) {
    throw fail(
      `is not module.function (${runtime.name} imports the module and calls the function)`,
      defaultHandler(runtime),
    );
  }
}

/** AWS_EXECUTION_ENV: the managed runtimes' identifier; Lambda sets none for the OS-only provided runtimes. */
export function executionEnvironment(runtime: RuntimeFamily): string | undefined {
  return runtime.family === 'provided' ? undefined : `AWS_Lambda_${runtime.name}`;
}

import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { executionEnvironment, type RuntimeFamily } from './runtimes.js';

/**
 * The environment Lambda gives a function's runtime process, with Lambda's
 * folders (/var/task, /opt, /var/runtime, /var/lang/bin) replaced by where
 * they are on this machine. Like the extensions' environment in the
 * emulator, nothing of the user's shell is inherited: a function that
 * silently relies on it fails here as it would on Lambda.
 */

/** The credentials Lambda gives a function from its role; taken from the shell only with --pass-aws-credentials. */
export const credentialVariables = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'] as const;

/**
 * Keys Lambda sets itself and refuses in a function's configuration
 * (configuration-envvars: "reserved environment variables"); a --env for
 * one of them is ignored with a warning. The credentials are reserved too,
 * but --env may set them: that is how a user hands chosen ones to a run.
 */
export const reservedVariables = new Set([
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_DEFAULT_REGION',
  'AWS_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
]);

export interface FunctionEnvironmentInput {
  runtime: RuntimeFamily;
  handler: string;
  /** Lambda's /var/task. */
  taskRoot: string;
  /** Lambda's /opt: the unpacked layer. */
  layerDirectory: string;
  /** Lambda's /var/runtime: the runtime client's folder (the task root for provided.al2023). */
  runtimeDirectory: string;
  /** Lambda's /var/lang/bin: the folder of the interpreter (python3, node); none for provided.al2023. */
  interpreterDirectory?: string | undefined;
  functionName: string;
  memorySizeMB: number;
  region: string;
  /** `--env`: the function's configured variables. */
  env?: Record<string, string> | undefined;
  /** The credentials to pass (only with --pass-aws-credentials). */
  credentials?: Record<string, string> | undefined;
  /** Lambda Managed Instances: the runtime sees AWS_LAMBDA_MAX_CONCURRENCY. */
  maxConcurrency?: number | undefined;
  /** For AWS_LAMBDA_LOG_STREAM_NAME; default now. */
  now?: Date | undefined;
  /** For AWS_LAMBDA_LOG_STREAM_NAME's 32 hex digits; default random. */
  streamId?: string | undefined;
}

/** `2026/12/07/[$LATEST]<32 hex digits>`, as Lambda names a function's log stream. */
export function logStreamName(now: Date, streamId: string): string {
  const day = now.toISOString().slice(0, 10).replaceAll('-', '/');
  return `${day}/[$LATEST]${streamId}`;
}

/** Node's module folders in a layer: nodejs/node<major>/node_modules first, as Lambda's NODE_PATH lists them. */
export function layerNodePath(layerDirectory: string, major: number): string[] {
  return [
    path.join(layerDirectory, 'nodejs', `node${major}`, 'node_modules'),
    path.join(layerDirectory, 'nodejs', 'node_modules'),
  ];
}

/** Python's folders in a layer: python/lib/python3.X/site-packages, then python/. */
export function layerPythonPath(layerDirectory: string, minor: number): string[] {
  return [
    path.join(layerDirectory, 'python', 'lib', `python3.${minor}`, 'site-packages'),
    path.join(layerDirectory, 'python'),
  ];
}

export interface BuiltEnvironment {
  env: Record<string, string>;
  warnings: string[];
}

/** The function's whole environment (without AWS_LAMBDA_RUNTIME_API, which the emulator adds once it listens). */
export function functionEnvironment(input: FunctionEnvironmentInput): BuiltEnvironment {
  const { runtime, taskRoot, layerDirectory, runtimeDirectory } = input;
  const warnings: string[] = [];
  const system = ['/usr/local/bin', '/usr/bin', '/bin'];
  // Lambda: /var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin.
  const pathEntries = [
    ...(input.interpreterDirectory === undefined ? [] : [input.interpreterDirectory]),
    ...system,
    path.join(layerDirectory, 'bin'),
  ];
  // Lambda: /var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib.
  const libraryEntries = [
    '/lib64',
    '/usr/lib64',
    runtimeDirectory,
    path.join(runtimeDirectory, 'lib'),
    taskRoot,
    path.join(taskRoot, 'lib'),
    path.join(layerDirectory, 'lib'),
  ];
  const unreserved: Record<string, string> = {
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    PATH: [...new Set(pathEntries)].join(':'),
    LD_LIBRARY_PATH: [...new Set(libraryEntries)].join(':'),
  };
  if (runtime.family === 'nodejs') {
    unreserved['NODE_PATH'] = [
      ...layerNodePath(layerDirectory, runtime.major),
      path.join(runtimeDirectory, 'node_modules'),
    ].join(':');
  }
  if (runtime.family === 'python') {
    // Lambda's python puts /opt/python/lib/python3.X/site-packages and /opt/python on sys.path, then /var/runtime.
    unreserved['PYTHONPATH'] = [...layerPythonPath(layerDirectory, runtime.minor), runtimeDirectory].join(':');
  }
  const configured: Record<string, string> = {};
  for (const [key, value] of Object.entries(input.env ?? {})) {
    if (reservedVariables.has(key)) {
      warnings.push(`--env ${key}: Lambda sets this variable itself (it is reserved); the value given is ignored`);
      continue;
    }
    configured[key] = value;
  }
  const executionEnv = executionEnvironment(runtime);
  const env: Record<string, string> = {
    ...unreserved,
    ...configured,
    ...(input.credentials ?? {}),
    LAMBDA_TASK_ROOT: taskRoot,
    LAMBDA_RUNTIME_DIR: runtimeDirectory,
    _HANDLER: input.handler,
    AWS_LAMBDA_FUNCTION_NAME: input.functionName,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(input.memorySizeMB),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${input.functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: logStreamName(
      input.now ?? new Date(),
      input.streamId ?? randomBytes(16).toString('hex'),
    ),
    AWS_LAMBDA_INITIALIZATION_TYPE: input.maxConcurrency === undefined ? 'on-demand' : 'lambda-managed-instances',
    AWS_REGION: input.region,
    AWS_DEFAULT_REGION: input.region,
    ...(executionEnv === undefined ? {} : { AWS_EXECUTION_ENV: executionEnv }),
    ...(input.maxConcurrency === undefined ? {} : { AWS_LAMBDA_MAX_CONCURRENCY: String(input.maxConcurrency) }),
  };
  return { env, warnings };
}

/**
 * Where an AWS_LAMBDA_EXEC_WRAPPER path is on this machine: `/opt/…` is in
 * the layer, `/var/task/…` in the function; any other absolute path is taken
 * as it is. Undefined for a relative path, which Lambda cannot start either.
 */
export function mapLambdaPath(lambdaPath: string, layerDirectory: string, taskRoot: string): string | undefined {
  if (!lambdaPath.startsWith('/')) return undefined;
  const inside = (prefix: string, root: string): string | undefined => {
    if (lambdaPath !== prefix && !lambdaPath.startsWith(`${prefix}/`)) return undefined;
    const rest = lambdaPath
      .slice(prefix.length)
      .split('/')
      .filter((part) => part !== '' && part !== '.');
    // `..` could climb out of the layer: resolve it inside, as the path would resolve on Lambda.
    const resolved = path.posix.normalize(`/${rest.join('/')}`);
    return path.join(root, ...resolved.split('/').filter((part) => part !== ''));
  };
  return inside('/opt', layerDirectory) ?? inside('/var/task', taskRoot) ?? lambdaPath;
}

/** The command started through the wrapper, as Lambda starts it: the wrapper, then the original argv. */
export function wrapCommand(
  wrapper: string,
  command: { command: string; args: string[] },
): { command: string; args: string[] } {
  return { command: wrapper, args: [command.command, ...command.args] };
}

import fs from 'node:fs/promises';
import path from 'node:path';
import type { RuntimeCommand } from '../emulator/types.js';
import { hostArchitecture, type Architecture } from '../layer/architectures.js';
import { CliError } from '../errors.js';
import { credentialVariables, functionEnvironment, mapLambdaPath, wrapCommand } from './environment.js';
import { checkExecutable } from './executable.js';
import { findFunctionNode, requireNodeRuntimeClient } from './node.js';
import { findPython, installAwslambdaric } from './python.js';
import { checkHandler, defaultHandler, parseRuntime, type RuntimeFamily } from './runtimes.js';
import { openTaskRoot, type TaskRoot } from './task-root.js';

/**
 * `ext dev --function`: the user's real function, started the way Lambda
 * starts its runtime, beside the extension layer. prepareFunction turns
 * the function's folder or zip, its runtime and handler into the one
 * command the emulator starts (RuntimeCommand), with Lambda's environment.
 */

export { loadEvents, maximumEventFileBytes, parseEvents } from './events.js';
export {
  credentialVariables,
  functionEnvironment,
  logStreamName,
  mapLambdaPath,
  reservedVariables,
  type FunctionEnvironmentInput,
} from './environment.js';
export { defaultHandler, functionRuntimes, parseRuntime, type FunctionRuntime } from './runtimes.js';
export { nodeRuntimeClientPath } from './node.js';
export { awslambdaricDirectory, installAwslambdaric, findPython, type PythonInterpreter } from './python.js';
export { awslambdaricPins } from './awslambdaric-pins.js';

export interface PrepareFunctionOptions {
  /** `--function`: the function's folder (Lambda's /var/task) or its deployment zip. */
  path: string;
  /** `--runtime`: provided.al2023, python3.9 … python3.14, nodejs22.x or nodejs24.x. */
  runtime: string;
  /** `--handler`; default per runtime (index.handler, lambda_function.lambda_handler, bootstrap). */
  handler?: string | undefined;
  /** What relative paths are relative to; default the current folder. */
  baseDirectory?: string | undefined;
  /** The unpacked layer: Lambda's /opt. */
  layerDirectory: string;
  /** Default `ext-dev-function`, as the emulator's. */
  functionName?: string | undefined;
  /** Default 128. */
  memorySizeMB?: number | undefined;
  /** Default `us-east-1`. */
  region?: string | undefined;
  /** `--env`: the function's configured variables (AWS_LAMBDA_EXEC_WRAPPER among them). */
  env?: Record<string, string> | undefined;
  /** `--pass-aws-credentials`: give the function the shell's AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN. */
  passAwsCredentials?: boolean | undefined;
  /** The shell's environment: credentials and the PATH python3 is looked up on. Default process.env. */
  hostEnvironment?: NodeJS.ProcessEnv | undefined;
  /** `--python`: the interpreter for python3.x. */
  pythonPath?: string | undefined;
  /** `--node`: the node for nodejs*.x. */
  nodePath?: string | undefined;
  /** The toolkit's cache (awslambdaric, node binaries); default standalone's cacheDirectory(). */
  cacheDirectory?: string | undefined;
  /** Lambda Managed Instances: the runtime sees AWS_LAMBDA_MAX_CONCURRENCY. */
  maxConcurrency?: number | undefined;
  signal?: AbortSignal | undefined;
  /** Slow first-use work (installing awslambdaric, fetching node). */
  onProgress?: ((message: string) => void) | undefined;
}

export interface PreparedFunction {
  runtime: RuntimeCommand;
  handler: string;
  runtimeName: string;
  /** Where the function's code is (an unpacked zip's temp folder). */
  taskRoot: string;
  /** One line each: things that differ from Lambda in this run. */
  warnings: string[];
  /** The credentials passed with --pass-aws-credentials, for the extensions too (EmulatorOptions.env); else empty. */
  credentials: Record<string, string>;
  /** Removes the unpacked zip, if any. */
  cleanup(): Promise<void>;
}

interface StartCommand {
  command: string;
  args: string[];
  runtimeDirectory: string;
  interpreterDirectory?: string | undefined;
  description: string;
}

export async function prepareFunction(options: PrepareFunctionOptions): Promise<PreparedFunction> {
  const runtime = parseRuntime(options.runtime);
  const handler = options.handler ?? defaultHandler(runtime);
  checkHandler(handler, runtime);
  const hostEnvironment = options.hostEnvironment ?? process.env;
  const baseDirectory = options.baseDirectory ?? process.cwd();
  const taskRoot = await openTaskRoot(options.path, baseDirectory);
  try {
    const warnings: string[] = [];
    const start = await startCommand(runtime, handler, taskRoot, options, warnings);
    const credentials = options.passAwsCredentials === true ? shellCredentials(hostEnvironment, warnings) : {};
    const built = functionEnvironment({
      runtime,
      handler,
      taskRoot: taskRoot.directory,
      layerDirectory: options.layerDirectory,
      runtimeDirectory: start.runtimeDirectory,
      interpreterDirectory: start.interpreterDirectory,
      functionName: options.functionName ?? 'ext-dev-function',
      memorySizeMB: options.memorySizeMB ?? 128,
      region: options.region ?? 'us-east-1',
      env: options.env,
      credentials,
      maxConcurrency: options.maxConcurrency,
    });
    warnings.push(...built.warnings);
    const command = await throughWrapper(runtime, start, built.env, options.layerDirectory, taskRoot, warnings);
    return {
      runtime: { ...command, env: built.env, cwd: taskRoot.directory },
      handler,
      runtimeName: runtime.name,
      taskRoot: taskRoot.directory,
      warnings,
      credentials,
      cleanup: taskRoot.cleanup,
    };
  } catch (error) {
    await taskRoot.cleanup();
    throw error;
  }
}

/** The runtime's own command, before any wrapper. */
async function startCommand(
  runtime: RuntimeFamily,
  handler: string,
  taskRoot: TaskRoot,
  options: PrepareFunctionOptions,
  warnings: string[],
): Promise<StartCommand> {
  const host = hostArchitecture();
  switch (runtime.family) {
    case 'provided': {
      const bootstrap = await findBootstrap(taskRoot, options.layerDirectory, host);
      return {
        command: bootstrap,
        args: [],
        runtimeDirectory: taskRoot.directory,
        description: `provided.al2023 (${bootstrap})`,
      };
    }
    case 'python': {
      const python = await findPython({
        pythonPath: options.pythonPath,
        minor: runtime.minor,
        hostEnvironment: options.hostEnvironment,
        signal: options.signal,
      });
      if (python.minor !== runtime.minor) {
        warnings.push(
          `${runtime.name}: the function runs on python ${python.major}.${python.minor} (${python.executable}), not 3.${runtime.minor} as on Lambda; pass --python with a python3.${runtime.minor} to match`,
        );
      }
      const cacheDirectory = options.cacheDirectory ?? (await toolkitCache(options.hostEnvironment));
      const ric = await installAwslambdaric({
        python,
        cacheDirectory,
        hostEnvironment: options.hostEnvironment,
        signal: options.signal,
        onProgress: options.onProgress,
      });
      return {
        command: python.executable,
        args: ['-m', 'awslambdaric', handler],
        runtimeDirectory: ric.directory,
        interpreterDirectory: path.dirname(python.executable),
        description: `${runtime.name} (python ${python.major}.${python.minor} at ${python.executable}, awslambdaric ${ric.version})`,
      };
    }
    case 'nodejs': {
      const client = await requireNodeRuntimeClient();
      const node = await findFunctionNode({
        major: runtime.major,
        nodePath: options.nodePath,
        signal: options.signal,
        fetchNode: (major) => fetchNode(major, options),
      });
      if (node.major !== runtime.major) {
        warnings.push(
          `${runtime.name}: the function runs on node ${node.version} (${node.path}), not node ${runtime.major} as on Lambda${options.nodePath === undefined ? '' : "; drop --node to fetch the runtime's node"}`,
        );
      }
      return {
        command: node.path,
        args: [client],
        runtimeDirectory: path.dirname(client),
        interpreterDirectory: path.dirname(node.path),
        description: `${runtime.name} (node ${node.version}, the toolkit's runtime client)`,
      };
    }
  }
}

/** Lambda looks for the bootstrap in /var/task, then in /opt (a layer that brings the runtime). */
async function findBootstrap(
  taskRoot: TaskRoot,
  layerDirectory: string,
  host: Architecture | undefined,
): Promise<string> {
  const candidates = [path.join(taskRoot.directory, 'bootstrap'), path.join(layerDirectory, 'bootstrap')];
  for (const candidate of candidates) {
    const stat = await fs.stat(candidate).catch(() => undefined);
    if (stat === undefined) continue;
    await checkExecutable(candidate, {
      role: 'provided.al2023: the bootstrap',
      code: 'E_FUNCTION_BOOTSTRAP_UNUSABLE',
      architecture: host,
      architectureCode: 'E_FUNCTION_BOOTSTRAP_ARCHITECTURE',
    });
    return candidate;
  }
  const wrapped = await wrappingFolder(taskRoot.directory);
  throw new CliError(`provided.al2023: no bootstrap in ${taskRoot.shownAs} (nor in the layer)`, {
    code: 'E_FUNCTION_BOOTSTRAP_MISSING',
    hint:
      wrapped === undefined
        ? 'put the executable Lambda starts at the root of the function, named bootstrap (Go: go build -o bootstrap)'
        : `it is in ${wrapped}/: zip the folder's contents, not the folder (cd ${wrapped} && zip -r ../function.zip .), or pass --function ${wrapped}`,
  });
}

/** The one folder a task root holds, when that folder has the bootstrap: a zip of the folder, not of its contents. */
async function wrappingFolder(directory: string): Promise<string | undefined> {
  const entries = await fs.readdir(directory, { withFileTypes: true }).catch(() => []);
  const only = entries.length === 1 ? entries[0] : undefined;
  if (only === undefined || !only.isDirectory()) return undefined;
  const inside = await fs.stat(path.join(directory, only.name, 'bootstrap')).catch(() => undefined);
  return inside?.isFile() === true ? only.name : undefined;
}

/**
 * AWS_LAMBDA_EXEC_WRAPPER: Lambda starts the managed runtime through the
 * wrapper, with the runtime's command line as its arguments. OS-only
 * runtimes (provided.al2023) start the bootstrap directly: Lambda ignores
 * the variable there.
 */
async function throughWrapper(
  runtime: RuntimeFamily,
  start: StartCommand,
  env: Record<string, string>,
  layerDirectory: string,
  taskRoot: TaskRoot,
  warnings: string[],
): Promise<{ command: string; args: string[]; description: string }> {
  const wrapper = env['AWS_LAMBDA_EXEC_WRAPPER'];
  const plain = { command: start.command, args: start.args, description: start.description };
  if (wrapper === undefined || wrapper === '') return plain;
  if (runtime.family === 'provided') {
    warnings.push(
      'AWS_LAMBDA_EXEC_WRAPPER: Lambda starts no wrapper on OS-only runtimes (provided.al2023), so it is not used here either',
    );
    return plain;
  }
  const local = mapLambdaPath(wrapper, layerDirectory, taskRoot.directory);
  if (local === undefined) {
    throw new CliError(`AWS_LAMBDA_EXEC_WRAPPER: ${JSON.stringify(wrapper)} is not an absolute path`, {
      code: 'E_FUNCTION_WRAPPER_INVALID',
      exitCode: 2,
      hint: 'name the wrapper as Lambda sees it, such as --env AWS_LAMBDA_EXEC_WRAPPER=/opt/wrapper',
    });
  }
  await checkExecutable(local, {
    role: `AWS_LAMBDA_EXEC_WRAPPER (${wrapper}):`,
    code: 'E_FUNCTION_WRAPPER_INVALID',
    architecture: hostArchitecture(),
  });
  return { ...wrapCommand(local, start), description: `${start.description} through ${wrapper}` };
}

/** The shell's AWS credentials, for --pass-aws-credentials. */
function shellCredentials(hostEnvironment: NodeJS.ProcessEnv, warnings: string[]): Record<string, string> {
  const credentials: Record<string, string> = {};
  for (const key of credentialVariables) {
    const value = hostEnvironment[key];
    if (value !== undefined && value !== '') credentials[key] = value;
  }
  if (credentials['AWS_ACCESS_KEY_ID'] === undefined || credentials['AWS_SECRET_ACCESS_KEY'] === undefined) {
    warnings.push(
      '--pass-aws-credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set in this shell, so the function gets no working credentials; export them (eval "$(aws configure export-credentials --format env)") and run again',
    );
  }
  return credentials;
}

async function toolkitCache(hostEnvironment: NodeJS.ProcessEnv | undefined): Promise<string> {
  const { cacheDirectory } = await import('../standalone/index.js');
  return cacheDirectory(hostEnvironment ?? process.env);
}

async function fetchNode(major: number, options: PrepareFunctionOptions): Promise<{ path: string; version: string }> {
  const architecture = hostArchitecture();
  if (architecture === undefined) throw new Error(`no Linux node for this machine (${process.arch})`);
  const { cachedNodeBinary, resolveNodeVersion } = await import('../standalone/index.js');
  const cacheOptions = {
    cacheDirectory: options.cacheDirectory,
    environment: options.hostEnvironment,
    signal: options.signal,
    onFetch: (spec: string) =>
      options.onProgress?.(`fetching ${spec} through npm for the function (cached for later runs)`),
  };
  const resolved = await resolveNodeVersion(String(major), cacheOptions);
  const binary = await cachedNodeBinary(resolved.version, architecture, cacheOptions);
  return { path: binary.path, version: resolved.version };
}

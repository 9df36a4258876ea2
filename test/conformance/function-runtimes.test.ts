import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { extBin } from '../helpers/run-cli.js';
import { rieBinary, runFunctionUnderRie, type RieInvoke } from '../helpers/rie.js';
import { skipWithoutTool } from '../helpers/tiers.js';
import { scaled } from '../helpers/time-scale.js';
import {
  functionsRoot,
  goFunction,
  nodeRuntimeClient,
  pythonRuntime,
  taskCopy,
  toolkitCacheDirectory,
  type Available,
} from './function-fixtures.js';
import { cacheDirectoryVariable } from '../../src/core/standalone/node-cache.js';

/**
 * A real function beside a small layer, under AWS's RIE (the real Runtime API) and under `ext dev --function`:
 * both must give the same answers (body, error type and message), the function must see the same Runtime API
 * (request id, deadline, ARN, trace id, environment), and the layer's extension the same events and verdicts.
 * The fixtures are in test/fixtures/functions/ (one protocol for the three languages: the event's `action`);
 * what RIE does in each case, with its source files, is written down in test/helpers/rie.ts.
 *
 * Agreed differences, where RIE is not Lambda or cannot be ext dev:
 * - RIE on demand answers every invoke with status 200 or 502 and never sends X-Amz-Function-Error (rie/util.go
 *   drops the headers): only its body tells an error (its LMI mode sends headers of its own, see rie.ts). The comparison is of the answer's kind, error type and message.
 * - RIE's shutdown reasons are its own (`Timeout`, `ReleaseFail`, `SandboxTerminated`); Lambda documents
 *   `timeout`, `failure`, `spindown`, which ext dev sends. Compared through that mapping.
 * - LAMBDA_TASK_ROOT is /var/task under RIE (a mount); ext dev has no mount namespace and gives the folder, so
 *   the task folder's path in messages and stack traces is read as /var/task.
 * - RIE never sends Lambda-Runtime-Trace-Id (its tracer is a no-op: rapidcore/sandbox_builder.go,
 *   telemetry/tracer.go BuildTracingHeader); Lambda always does, and so must ext dev: checked on ext dev alone.
 * - A timeout: RIE answers the plain text `Task timed out after N.00 seconds` (rie/handlers.go); ext dev answers
 *   Lambda's JSON, `{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: <id> Error: Task timed out after
 *   N.00 seconds"}`. Compared on the error type and those last words.
 * - A function whose Init fails: RIE runs Init at the first invoke and answers it with that Init's error
 *   (SHUTDOWN `spindown` to the extensions), then one Init per later invoke (SHUTDOWN `ReleaseFail`). Lambda, and
 *   ext dev, run Init, then again inside the first invoke (a "suppressed init"), then one per later invoke, each
 *   followed by SHUTDOWN `failure`. Both answer every invoke with the Init's error; the extension gets only
 *   SHUTDOWNs on both sides.
 */
const rie = await rieBinary();
const rieSkip = skipWithoutTool('the function conformance suite', 'skip' in rie ? rie.skip : false);

const functionName = 'ext-dev-function';
const memorySizeMB = 128;
const region = 'us-east-1';

type Tool = 'go' | 'python' | 'node';

interface Case {
  name: string;
  tool: Tool;
  /** The function's handler setting (_HANDLER): module.function, or `bootstrap` for provided.al2023. */
  handler: string;
  events: Record<string, unknown>[];
  timeoutSeconds?: number;
  execWrapper?: string;
  /** RIE's answers, pinned (so that a new RIE is noticed): `response`, `error:<errorType>`. */
  rie: string[];
  /** Every Init fails: the extension never sees an INVOKE (see the agreed differences above for the rest). */
  initFails?: boolean;
  /** Lambda Managed Instances with this concurrency: the extension registers for SHUTDOWN alone, as it must. */
  managedInstances?: number;
}

const oversize = { action: 'big', bytes: 7 * 1024 * 1024 };
const shortTimeoutSeconds = Math.max(2, Math.ceil(scaled(2_000) / 1000));
const cases: Case[] = [
  {
    name: 'a Go provided.al2023 function (aws-lambda-go)',
    tool: 'go',
    handler: 'bootstrap',
    events: [{ action: 'echo' }, { action: 'throw' }, { action: 'echo' }, oversize],
    rie: ['response', 'error:ConformanceError', 'response', 'error:Function.ResponseSizeTooLarge'],
  },
  {
    name: 'a Go function on Managed Instances (RIE in its LMI mode)',
    tool: 'go',
    handler: 'bootstrap',
    managedInstances: 2,
    events: [{ action: 'echo' }, { action: 'throw' }, { action: 'echo' }],
    rie: ['response', 'error:ConformanceError', 'response'],
  },
  {
    name: 'a Python function under awslambdaric',
    tool: 'python',
    handler: 'handler.handle',
    events: [{ action: 'echo' }, { action: 'throw' }, { action: 'echo' }, oversize],
    rie: ['response', 'error:ConformanceError', 'response', 'error:Function.ResponseSizeTooLarge'],
  },
  {
    name: "a Node function under the toolkit's runtime client",
    tool: 'node',
    handler: 'index.handler',
    events: [{ action: 'echo' }, { action: 'throw' }, { action: 'echo' }, oversize],
    rie: ['response', 'error:ConformanceError', 'response', 'error:Function.ResponseSizeTooLarge'],
  },
  {
    name: 'a function that times out, then answers after a fresh Init',
    tool: 'go',
    handler: 'bootstrap',
    // The limit also bounds the fresh Init inside the second invoke (the extension's node starting): long enough
    // for that on a loaded machine, and the sleep well past it.
    timeoutSeconds: shortTimeoutSeconds,
    events: [{ action: 'sleep', ms: shortTimeoutSeconds * 1000 + 3000 }, { action: 'echo' }],
    rie: ['error:Sandbox.Timedout', 'response'],
  },
  {
    name: 'a Python module that fails to import',
    tool: 'python',
    handler: 'broken.handle',
    events: [{ action: 'echo' }, { action: 'echo' }],
    rie: ['error:Runtime.ImportModuleError', 'error:Runtime.ImportModuleError'],
    initFails: true,
  },
  {
    name: 'a Node module that fails to import',
    tool: 'node',
    handler: 'broken.handler',
    events: [{ action: 'echo' }, { action: 'echo' }],
    rie: ['error:Runtime.ImportModuleError', 'error:Runtime.ImportModuleError'],
    initFails: true,
  },
  {
    name: 'a runtime that exits in the middle of an invoke (Runtime.ExitError), then a fresh Init',
    tool: 'node',
    handler: 'index.handler',
    events: [{ action: 'exit' }, { action: 'echo' }],
    rie: ['error:Runtime.ExitError', 'response'],
  },
  {
    name: 'a Node function that streams its response (streamifyResponse)',
    tool: 'node',
    handler: 'stream.handler',
    events: [{}, {}],
    rie: ['response', 'response'],
  },
  {
    name: 'a Python function started through a wrapper script (AWS_LAMBDA_EXEC_WRAPPER)',
    tool: 'python',
    handler: 'handler.handle',
    execWrapper: '/opt/wrapper',
    events: [{ action: 'echo' }, { action: 'echo' }],
    rie: ['response', 'response'],
  },
];

/** One invoke's answer, as both sides can give it. */
interface Answer {
  kind: 'response' | 'error';
  errorType?: string;
  errorMessage?: string;
  /** The response body, parsed. */
  body?: unknown;
}

/** What the layer's extension received, with Lambda's shutdown reasons. */
interface ExtensionEvent {
  eventType: string;
  requestId?: string;
  shutdownReason?: string;
}

interface Side {
  answers: Answer[];
  extensionEvents: ExtensionEvent[];
  /** `Extension.*` errors (RIE's log; ext dev's verdicts). */
  extensionErrors: string[];
  log: string;
}

/** RIE's words for the shutdown reasons, in Lambda's (docs/reference/extensions-api.md). */
const lambdaShutdownReason: Record<string, string> = {
  Timeout: 'timeout',
  ReleaseFail: 'failure',
  SandboxTerminated: 'spindown',
  spindown: 'spindown',
};

const timedOut = /^Task timed out after ([\d.]+) seconds$/u;

/** RIE's invoke answer: the body is all there is (no X-Amz-Function-Error), see test/helpers/rie.ts. */
function rieAnswer(invoke: RieInvoke): Answer {
  const timeout = timedOut.exec(invoke.body);
  if (timeout !== null) return { kind: 'error', errorType: 'Sandbox.Timedout', errorMessage: invoke.body };
  let body: unknown;
  try {
    body = JSON.parse(invoke.body);
  } catch {
    return { kind: 'response', body: invoke.body };
  }
  if (isError(body)) return { kind: 'error', errorType: body.errorType, errorMessage: body.errorMessage, body };
  return { kind: 'response', body };
}

function isError(body: unknown): body is { errorType: string; errorMessage: string } {
  return typeof body === 'object' && body !== null && typeof (body as { errorType?: unknown }).errorType === 'string';
}

function summary(answer: Answer): string {
  return answer.kind === 'response' ? 'response' : `error:${answer.errorType ?? '?'}`;
}

async function readEvents(file: string): Promise<ExtensionEvent[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as ExtensionEvent & { shutdownReason?: string })
    .map((event) => ({
      eventType: event.eventType,
      ...(event.requestId === undefined ? {} : { requestId: event.requestId }),
      ...(event.shutdownReason === undefined
        ? {}
        : { shutdownReason: lambdaShutdownReason[event.shutdownReason] ?? event.shutdownReason }),
    }));
}

interface Prepared {
  taskDirectory: string;
  /** For RIE: the managed runtime's command; none for provided.al2023. */
  command?: string[];
  runtime: string;
  env: Record<string, string>;
  devArguments: string[];
  cleanup(): Promise<void>;
}

async function prepare(testCase: Case): Promise<Available<Prepared>> {
  if (testCase.tool === 'go') {
    const built = await goFunction();
    if ('skip' in built) return built;
    return { ...built, runtime: 'provided.al2023', env: {}, devArguments: [], cleanup: async () => {} };
  }
  if (testCase.tool === 'python') {
    const python = await pythonRuntime();
    if ('skip' in python) return python;
    const task = await taskCopy('python');
    return {
      taskDirectory: task.taskDirectory,
      command: [python.python, '-m', 'awslambdaric', testCase.handler],
      runtime: python.runtimeName,
      env: { PYTHONPATH: python.sitePackages },
      devArguments: ['--python', python.python],
      cleanup: task.cleanup,
    };
  }
  const client = await nodeRuntimeClient();
  if ('skip' in client) return client;
  const task = await taskCopy('node');
  return {
    taskDirectory: task.taskDirectory,
    command: [client.node, client.entry],
    runtime: 'nodejs22.x',
    env: {},
    devArguments: ['--node', client.node],
    cleanup: task.cleanup,
  };
}

async function runRie(testCase: Case, prepared: Prepared, layer: string, eventsFile: string): Promise<Side> {
  const run = await runFunctionUnderRie((rie as { binary: string }).binary, {
    taskDirectory: prepared.taskDirectory,
    layerDirectory: layer,
    ...(prepared.command === undefined ? {} : { command: prepared.command }),
    handler: testCase.handler,
    ...(testCase.execWrapper === undefined ? {} : { execWrapper: testCase.execWrapper }),
    executionEnvironment: `AWS_Lambda_${prepared.runtime}`,
    functionName,
    timeoutSeconds: testCase.timeoutSeconds ?? 10,
    ...(testCase.managedInstances === undefined
      ? {}
      : { managedInstances: { concurrency: testCase.managedInstances } }),
    events: testCase.events.map((event) => JSON.stringify(event)),
    env: {
      ...prepared.env,
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memorySizeMB),
      CONFORMANCE_EVENTS_FILE: eventsFile,
      ...(testCase.managedInstances === undefined ? {} : { CONFORMANCE_EXTENSION_EVENTS: 'SHUTDOWN' }),
    },
  });
  return {
    answers: run.invokes.map(rieAnswer),
    extensionEvents: await readEvents(eventsFile),
    extensionErrors: run.extensionErrors,
    log: run.log,
  };
}

interface DevReport {
  invokes: {
    requestId: string;
    response?: { kind: 'response' | 'error'; payload: string; errorType?: string; errorMessage?: string };
  }[];
  verdicts: { errorType: string }[];
}

/** `ext dev --function … --json` in a PID namespace of its own, so nothing the function forks outlives the run. */
async function runDev(testCase: Case, prepared: Prepared, layer: string, eventsFile: string): Promise<Side> {
  const workspace = await mkdtemp(path.join(os.tmpdir(), 'cle-conformance-dev-'));
  try {
    const eventFile = path.join(workspace, 'events.json');
    await writeFile(eventFile, JSON.stringify(testCase.events));
    const timeoutSeconds = testCase.timeoutSeconds ?? 10;
    const args = [
      extBin,
      'dev',
      '--layer',
      layer,
      '--function',
      prepared.taskDirectory,
      '--runtime',
      prepared.runtime,
      '--handler',
      testCase.handler,
      '--event',
      eventFile,
      '--timeout',
      String(timeoutSeconds),
      '--memory',
      String(memorySizeMB),
      '--env',
      `CONFORMANCE_EVENTS_FILE=${eventsFile}`,
      ...(testCase.execWrapper === undefined ? [] : ['--env', `AWS_LAMBDA_EXEC_WRAPPER=${testCase.execWrapper}`]),
      ...(testCase.managedInstances === undefined
        ? []
        : [
            '--managed-instances',
            '--concurrency',
            String(testCase.managedInstances),
            '--env',
            'CONFORMANCE_EXTENSION_EVENTS=SHUTDOWN',
          ]),
      ...prepared.devArguments,
      '--json',
    ];
    const { stdout, stderr } = await inPidNamespace(args, scaled(120_000));
    let report: DevReport;
    try {
      report = JSON.parse(stdout) as DevReport;
    } catch (error) {
      throw new Error(`ext dev printed no report (${String(error)}):\n${stdout}\n${stderr}`, { cause: error });
    }
    return {
      answers: report.invokes.map((invoke) => devAnswer(invoke.response)),
      extensionEvents: await readEvents(eventsFile),
      extensionErrors: [
        ...new Set(report.verdicts.map((verdict) => verdict.errorType).filter((type) => type.startsWith('Extension.'))),
      ].sort(),
      log: `${stdout}\n${stderr}`,
    };
  } finally {
    await rm(workspace, { recursive: true, force: true });
  }
}

function devAnswer(response: DevReport['invokes'][number]['response']): Answer {
  if (response === undefined) return { kind: 'error', errorType: '(no response in the report)' };
  let body: unknown = response.payload;
  try {
    body = JSON.parse(response.payload);
  } catch {
    // A plain-text body stays text.
  }
  if (response.kind === 'response') return { kind: 'response', body };
  return {
    kind: 'error',
    ...(response.errorType === undefined ? {} : { errorType: response.errorType }),
    ...(response.errorMessage === undefined ? {} : { errorMessage: response.errorMessage }),
    body,
  };
}

function inPidNamespace(args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  const root = process.getuid?.() === 0;
  return new Promise((resolve, reject) => {
    const child = spawn(
      'unshare',
      [
        ...(root ? [] : ['--map-root-user']),
        '--pid',
        '--fork',
        '--kill-child',
        '--mount-proc',
        process.execPath,
        ...args,
      ],
      {
        // The toolkit's cache in the tests' one: the awslambdaric pythonRuntime() installed is found there.
        env: { ...process.env, NO_COLOR: '1', [cacheDirectoryVariable]: toolkitCacheDirectory },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve({ stdout, stderr });
    });
  });
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/u;
const arn = new RegExp(`^arn:aws:lambda:${region}:\\d{12}:function:${functionName}$`, 'u');
const traceId = /^Root=1-[0-9a-f]{8}-[0-9a-f]{24}(;|$)/u;

interface Echo {
  runtime: string;
  action: string;
  requestId: string;
  functionArn: string;
  deadlineMs: number;
  remainingMs: number;
  traceId: string;
  env: Record<string, string>;
}

/**
 * What a function's echo says about the Runtime API, reduced to what must be alike on both sides: the shapes of
 * the request id, ARN, trace id and deadline (their values differ by nature), and the environment.
 */
function echoShape(body: unknown, timeoutSeconds: number, taskDirectory: string): Record<string, unknown> {
  const echo = body as Echo;
  const { LAMBDA_TASK_ROOT: taskRoot, AWS_LAMBDA_RUNTIME_API: runtimeApi, ...env } = echo.env;
  return {
    runtime: echo.runtime,
    action: echo.action,
    requestIdIsUuid: uuid.test(echo.requestId),
    arnShape: arn.test(echo.functionArn),
    // The deadline is Lambda-Runtime-Deadline-Ms: in the future, at most the timeout away.
    deadlineInWindow: echo.remainingMs > 0 && echo.remainingMs <= timeoutSeconds * 1000,
    taskRoot: taskRoot === '/var/task' || taskRoot === taskDirectory ? 'the task folder' : taskRoot,
    runtimeApiIsHostPort: /^[\d.]+:\d+$/u.test(runtimeApi ?? ''),
    env,
  };
}

/** An answer reduced to what both sides must agree on. */
function comparable(answer: Answer, timeoutSeconds: number, taskDirectory: string): Record<string, unknown> {
  if (answer.kind === 'response') {
    const body = answer.body;
    const echo = typeof body === 'object' && body !== null && 'requestId' in body;
    return { kind: 'response', body: echo ? echoShape(body, timeoutSeconds, taskDirectory) : body };
  }
  const text = (value: string) =>
    value
      .replaceAll(taskDirectory, '/var/task')
      // Lambda's own errors, and awslambdaric's bodies, name the invoke: alike but for the id.
      .replace(new RegExp(uuid.source.slice(1, -1), 'gu'), '<request id>')
      // ext dev says `RequestId: <id> Error: Task timed out …` as Lambda does; RIE only the last words.
      .replace(/^.*?(?=Task timed out after)/u, '');
  const deep = (value: unknown): unknown =>
    typeof value === 'string'
      ? text(value)
      : Array.isArray(value)
        ? value.map(deep)
        : typeof value === 'object' && value !== null
          ? Object.fromEntries(Object.entries(value).map(([key, item]) => [key, deep(item)]))
          : value;
  return {
    kind: 'error',
    errorType: answer.errorType,
    errorMessage: text(answer.errorMessage ?? ''),
    // The whole error body as the runtime posted it (stack trace included); RIE's timeout answer is plain text.
    ...(answer.errorType === 'Sandbox.Timedout' ? {} : { body: deep(answer.body) }),
  };
}

/** The request ids the function saw, in order (from its echoes), to match against the extension's INVOKEs. */
function echoedRequestIds(side: Side): string[] {
  return side.answers
    .map((answer) => (answer.kind === 'response' ? (answer.body as Partial<Echo>).requestId : undefined))
    .filter((id): id is string => id !== undefined);
}

describe('a real function under RIE and under ext dev --function', { skip: rieSkip, concurrency: 3 }, () => {
  for (const testCase of cases) {
    it(testCase.name, { timeout: scaled(240_000) }, async (test) => {
      const ready = await prepare(testCase);
      if ('skip' in ready) {
        test.skip(skipWithoutTool(testCase.name, ready.skip) || ready.skip);
        return;
      }
      const workspace = await mkdtemp(path.join(os.tmpdir(), 'cle-conformance-function-'));
      try {
        const layers = { rie: path.join(workspace, 'layer-rie'), dev: path.join(workspace, 'layer-dev') };
        const eventsFiles = {
          rie: path.join(workspace, 'events-rie.jsonl'),
          dev: path.join(workspace, 'events-dev.jsonl'),
        };
        // On Managed Instances RIE runs the extensions as another user than root (the sandbox user): the
        // extension's events file must be open to it.
        await chmod(workspace, 0o755);
        for (const file of Object.values(eventsFiles)) {
          await writeFile(file, '');
          await chmod(file, 0o666);
        }
        for (const layer of Object.values(layers))
          await cp(path.join(functionsRoot, 'layer'), layer, { recursive: true });
        const timeoutSeconds = testCase.timeoutSeconds ?? 10;
        const [rieSide, devRun] = await Promise.all([
          runRie(testCase, ready, layers.rie, eventsFiles.rie),
          runDev(testCase, ready, layers.dev, eventsFiles.dev).catch((error: unknown) => error as Error),
        ]);
        // RIE's own answers first: they are the reference, pinned so that a new RIE is noticed.
        const rieLog = `--- RIE log\n${rieSide.log.slice(-6000)}`;
        assert.deepEqual(rieSide.answers.map(summary), testCase.rie, rieLog);
        assert.deepEqual(rieSide.extensionErrors, [], rieLog);
        if (devRun instanceof Error) throw devRun;
        const devSide = devRun;
        const context = `${rieLog}\n--- ext dev\n${devSide.log.slice(-6000)}`;

        assert.deepEqual(
          devSide.answers.map((answer) => comparable(answer, timeoutSeconds, ready.taskDirectory)),
          rieSide.answers.map((answer) => comparable(answer, timeoutSeconds, ready.taskDirectory)),
          `the answers differ\n${context}`,
        );
        assert.deepEqual(devSide.extensionErrors, rieSide.extensionErrors, context);
        // Lambda gives every invoke a trace id (RIE none, see above).
        for (const answer of devSide.answers) {
          const echo = answer.body as Partial<Echo> | undefined;
          if (answer.kind === 'response' && echo?.traceId !== undefined) {
            assert.match(echo.traceId, traceId, `the function's _X_AMZN_TRACE_ID\n${context}`);
          }
        }
        // The extension saw the same events (request ids aside), and on each side the request ids it saw are
        // those the function saw.
        const events = (side: Side) => side.extensionEvents.map(({ requestId: _id, ...event }) => event);
        if (testCase.initFails === true) {
          for (const side of [rieSide, devSide]) {
            assert.deepEqual(new Set(side.extensionEvents.map((event) => event.eventType)), new Set(['SHUTDOWN']));
          }
          assert.deepEqual(
            events(devSide),
            Array(testCase.events.length + 1).fill({ eventType: 'SHUTDOWN', shutdownReason: 'failure' }),
            `ext dev: one failed Init before the invokes, one in each (see above)\n${context}`,
          );
        } else {
          assert.deepEqual(events(devSide), events(rieSide), `the extension's events differ\n${context}`);
        }
        // (On Managed Instances no extension takes part in an invoke.)
        for (const side of testCase.managedInstances === undefined ? [rieSide, devSide] : []) {
          const invoked = side.extensionEvents.map((event) => event.requestId).filter(Boolean);
          for (const id of echoedRequestIds(side)) assert.ok(invoked.includes(id), `${id} reached the extension`);
        }
      } finally {
        await ready.cleanup();
        await rm(workspace, { recursive: true, force: true });
      }
    });
  }
});

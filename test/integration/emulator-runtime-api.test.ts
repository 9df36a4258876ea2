import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import {
  runEmulator,
  type EmulatorOptions,
  type EmulatorReport,
  type InvokeEvent,
} from '../../src/core/emulator/index.js';
import { maxInvokeResponseBytes } from '../../src/core/layer/limits.js';
import { addNodeExtension, freePort } from '../helpers/emulator-fixtures.js';
import { temporaryFolders } from '../helpers/paths.js';
import { scaled } from '../helpers/time-scale.js';

/*
 * The Runtime API with a real runtime process: a stand-in runtime (a node script speaking the 2018-06-01 API
 * with no library) does what each event asks, and the emulator hands it the invokes, takes its answers,
 * times it out, sees it crash, and resets the environment as Lambda does.
 */

const temporary = temporaryFolders();

/** The stand-in runtime: each event says what to do; RUNTIME_* variables say how its Init goes. */
const runtimeSource = String.raw`
'use strict';
const http = require('node:http');
const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
const agent = new http.Agent({ keepAlive: true });
function call(method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const request = http.request({ host, port, path, method, headers, agent }, (response) => {
      let text = '';
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode, headers: response.headers, body: text }));
    });
    request.on('error', reject);
    request.end(body);
  });
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** A streamed response: chunked, in pieces, with Lambda's error trailers when it fails midway. */
function stream(id, pieces, error) {
  return new Promise((resolve, reject) => {
    const headers = { 'Lambda-Runtime-Function-Response-Mode': 'streaming', 'Transfer-Encoding': 'chunked' };
    if (error) headers.Trailer = 'Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body';
    const request = http.request({ host, port, path: base + '/invocation/' + id + '/response', method: 'POST', headers, agent }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode }));
    });
    request.on('error', reject);
    (async () => {
      for (const piece of pieces) {
        request.write(piece);
        await sleep(20);
      }
      if (error) {
        const body = Buffer.from(JSON.stringify({ errorMessage: 'midway', errorType: 'StreamError' })).toString('base64');
        request.addTrailers({ 'Lambda-Runtime-Function-Error-Type': 'Runtime.StreamError', 'Lambda-Runtime-Function-Error-Body': body });
      }
      request.end();
    })();
  });
}
const base = '/2018-06-01/runtime';
async function loop(worker) {
  for (;;) {
    const next = await call('GET', base + '/invocation/next');
    const id = next.headers['lambda-runtime-aws-request-id'];
    const event = JSON.parse(next.body);
    for (const line of event.log || []) console.log(line);
    if (event.exit !== undefined) process.exit(event.exit);
    if (event.sleepMs) await sleep(event.sleepMs);
    if (event.error) {
      const body = JSON.stringify({ errorMessage: 'it went wrong', errorType: 'HandlerError', stackTrace: ['at handler (index.js:1)'] });
      await call('POST', base + '/invocation/' + id + '/error', { 'Lambda-Runtime-Function-Error-Type': 'Runtime.HandlerError' }, body);
      continue;
    }
    if (event.wrongId) {
      const wrong = await call('POST', base + '/invocation/not-' + id + '/response', {}, '{}');
      console.log('wrong id answered ' + wrong.status + ' ' + wrong.body);
    }
    if (event.stream) {
      const answer = await stream(id, event.stream, event.streamError);
      console.log('stream answered ' + answer.status);
      continue;
    }
    let body = JSON.stringify({ worker, echo: event });
    if (event.echoHeaders) body = JSON.stringify(next.headers);
    if (event.bytes) body = JSON.stringify('x'.repeat(event.bytes - 2));
    const answer = await call('POST', base + '/invocation/' + id + '/response', {}, body);
    console.log('response answered ' + answer.status + ' ' + answer.body);
    if (event.exitAfterAnswer) process.exit(0);
  }
}
async function main() {
  console.log('runtime starting');
  if (process.env.RUNTIME_EXIT_AT_INIT) process.exit(Number(process.env.RUNTIME_EXIT_AT_INIT));
  if (process.env.RUNTIME_HANG_AT_INIT) return setInterval(() => {}, 1 << 30);
  if (process.env.RUNTIME_INIT_ERROR) {
    const body = JSON.stringify({ errorMessage: "Unable to import module 'index'", errorType: 'Runtime.ImportModuleError', stackTrace: [] });
    await call('POST', base + '/init/error', { 'Lambda-Runtime-Function-Error-Type': 'Runtime.ImportModuleError' }, body);
    process.exit(1);
  }
  const workers = Number(process.env.AWS_LAMBDA_MAX_CONCURRENCY || 1);
  await Promise.all(Array.from({ length: workers }, (_, worker) => loop(worker)));
}
main().catch((error) => { console.error(error); process.exit(9); });
`;

interface Setup {
  layer: string;
  eventsFile: string;
  options: EmulatorOptions;
}

async function setup(
  events: InvokeEvent[],
  runtimeEnv: Record<string, string> = {},
  extension: Parameters<typeof addNodeExtension>[2] = {},
): Promise<Setup> {
  const layer = await temporary('runtime-');
  await mkdir(path.join(layer, 'extensions'));
  const task = path.join(layer, 'task');
  await mkdir(task);
  const script = path.join(task, 'runtime.js');
  await writeFile(script, runtimeSource);
  const eventsFile = path.join(layer, 'events.jsonl');
  await addNodeExtension(layer, 'watcher', { eventsFile, ...extension });
  return {
    layer,
    eventsFile,
    options: {
      layerDirectory: layer,
      runtime: {
        command: process.execPath,
        args: [script],
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...runtimeEnv },
        cwd: task,
        description: 'stand-in runtime (node)',
      },
      events,
      function: { timeoutSeconds: scaled(3000) / 1000 },
      shutdownBudgetMs: scaled(2000),
      initTimeoutMs: scaled(10_000),
    },
  };
}

const event = (value: unknown, extra: Partial<InvokeEvent> = {}): InvokeEvent => ({
  payload: JSON.stringify(value),
  ...extra,
});

async function extensionEvents(file: string): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => (JSON.parse(line) as { event: Record<string, unknown> }).event);
}

const texts = (report: EmulatorReport, kind: string): string[] =>
  report.timeline.filter((entry) => entry.kind === kind).map((entry) => entry.text);

test('next carries the request id, deadline, ARN, trace id, client context and Cognito identity; the response comes back', async () => {
  const { options } = await setup([
    event(
      { echoHeaders: true },
      {
        clientContext: '{"client":{"app_title":"t"},"custom":{"k":"v"}}',
        cognitoIdentity: '{"cognitoIdentityId":"id-1"}',
      },
    ),
    event({ hello: 'world' }),
  ]);
  const before = Date.now();
  const report = await runEmulator(options);
  assert.equal(report.status, 'passed', JSON.stringify(report.verdicts));
  assert.equal(report.invokes.length, 2, 'invokes default to the number of events');
  const [first, second] = report.invokes;
  assert.equal(first?.status, 'success');
  assert.equal(first?.response?.kind, 'response');
  const headers = JSON.parse(first?.response?.payload ?? '{}') as Record<string, string>;
  assert.equal(headers['lambda-runtime-aws-request-id'], first?.requestId);
  const deadline = Number(headers['lambda-runtime-deadline-ms']);
  assert.ok(deadline > before && deadline <= Date.now() + scaled(3000), String(deadline));
  assert.equal(
    headers['lambda-runtime-invoked-function-arn'],
    'arn:aws:lambda:us-east-1:123456789012:function:ext-dev-function',
  );
  assert.match(
    headers['lambda-runtime-trace-id'] ?? '',
    /^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=1$/u,
  );
  assert.equal(headers['lambda-runtime-client-context'], '{"client":{"app_title":"t"},"custom":{"k":"v"}}');
  assert.equal(headers['lambda-runtime-cognito-identity'], '{"cognitoIdentityId":"id-1"}');
  assert.equal(headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(second?.response?.payload ?? ''), { worker: 0, echo: { hello: 'world' } });
  assert.equal(report.inits.length, 1, 'one environment served both invokes');
  assert.ok(texts(report, 'function-log').includes('runtime starting'), "the runtime's output is the function's log");
  assert.ok(
    texts(report, 'response').some((text) => text.startsWith(`RESPONSE RequestId: ${second?.requestId} {"worker":0`)),
  );
});

test("a function error, a response over 6 MB and a crash are the function's errors, not verdicts; a crash resets", async () => {
  const { options, eventsFile } = await setup([
    event({ error: true }),
    event({ bytes: maxInvokeResponseBytes + 1 }),
    event({ exit: 2 }),
    event({ after: 'crash' }),
  ]);
  const report = await runEmulator(options);
  assert.equal(report.status, 'passed', JSON.stringify(report.verdicts));
  assert.deepEqual(
    report.invokes.map((invoke) => [invoke.status, invoke.response?.errorType]),
    [
      ['error', 'HandlerError'],
      ['error', 'Function.ResponseSizeTooLarge'],
      ['error', 'Runtime.ExitError'],
      ['success', undefined],
    ],
  );
  const [failed, tooLarge, crashed] = report.invokes;
  assert.deepEqual(JSON.parse(failed?.response?.payload ?? ''), {
    errorMessage: 'it went wrong',
    errorType: 'HandlerError',
    stackTrace: ['at handler (index.js:1)'],
  });
  assert.match(
    tooLarge?.response?.errorMessage ?? '',
    /^Response payload size exceeded maximum allowed payload size \(6291556 bytes\)\.$/u,
  );
  // RIE answers the runtime 413; the stand-in printed what it got.
  assert.ok(
    texts(report, 'function-log').some((text) =>
      text.startsWith(
        'response answered 413 {"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"}',
      ),
    ),
  );
  assert.deepEqual(JSON.parse(crashed?.response?.payload ?? ''), {
    errorType: 'Runtime.ExitError',
    errorMessage: `RequestId: ${crashed?.requestId} Error: Runtime exited with error: exit status 2`,
  });
  assert.ok(texts(report, 'report').some((text) => text.includes('Status: error Error Type: Runtime.ExitError')));
  // Lambda resets after the crash: SHUTDOWN (failure) to the extension, then a fresh Init for the next invoke.
  assert.equal(crashed?.environmentReset, 'failure');
  assert.equal(failed?.environmentReset, undefined, 'a function error keeps the environment');
  assert.equal(report.inits.length, 2);
  const shutdowns = (await extensionEvents(eventsFile)).filter((entry) => entry['eventType'] === 'SHUTDOWN');
  assert.deepEqual(
    shutdowns.map((entry) => entry['shutdownReason']),
    ['failure', 'spindown'],
  );
});

test('a timeout kills the runtime, answers Sandbox.Timedout, and resets with SHUTDOWN reason timeout', async () => {
  const { options, eventsFile } = await setup([event({ sleepMs: scaled(6000) }), event({ after: 'timeout' })]);
  const timeoutSeconds = scaled(1000) / 1000;
  const report = await runEmulator({ ...options, function: { timeoutSeconds } });
  assert.equal(report.status, 'passed', JSON.stringify(report.verdicts));
  const [timedOut, after] = report.invokes;
  assert.equal(timedOut?.status, 'timeout');
  assert.equal(timedOut?.response?.errorType, 'Sandbox.Timedout');
  const seconds = timeoutSeconds.toFixed(2);
  assert.equal(
    timedOut?.response?.errorMessage,
    `RequestId: ${timedOut?.requestId} Error: Task timed out after ${seconds} seconds`,
  );
  assert.ok(
    texts(report, 'function-log').some((text) =>
      text.endsWith(`${timedOut?.requestId} Task timed out after ${seconds} seconds`),
    ),
  );
  assert.ok(texts(report, 'runtime-done').some((text) => text.includes('Status: timeout')));
  assert.equal(after?.status, 'success');
  assert.equal(timedOut?.environmentReset, 'timeout');
  assert.ok(texts(report, 'note').some((text) => text.startsWith('RESET Reason: timeout')));
  assert.equal(report.inits.length, 2, 'the next invoke ran in a fresh environment');
  assert.ok(
    texts(report, 'init-report').every((text) => text.includes('Phase: init')),
    'after a good Init',
  );
  const shutdowns = (await extensionEvents(eventsFile)).filter((entry) => entry['eventType'] === 'SHUTDOWN');
  assert.deepEqual(
    shutdowns.map((entry) => entry['shutdownReason']),
    ['timeout', 'spindown'],
  );
  assert.ok(texts(report, 'shutdown').some((text) => text.startsWith('SHUTDOWN Reason: timeout')));
});

test("init/error fails Init with the runtime's error type; each invoke gets that error and runs Init again", async () => {
  const { options, eventsFile } = await setup([event({}), event({})], { RUNTIME_INIT_ERROR: '1' });
  const report = await runEmulator(options);
  assert.equal(report.status, 'passed', 'a runtime that fails its Init is no extension verdict');
  assert.deepEqual(report.verdicts, []);
  assert.deepEqual(
    report.inits.map((init) => [init.status, init.errorType]),
    [
      ['error', 'Runtime.ImportModuleError'],
      ['error', 'Runtime.ImportModuleError'],
      ['error', 'Runtime.ImportModuleError'],
    ],
  );
  assert.equal(report.invokes.length, 2);
  for (const invoke of report.invokes) {
    assert.equal(invoke.status, 'error');
    assert.equal(invoke.response?.errorType, 'Runtime.ImportModuleError');
    assert.equal(JSON.parse(invoke.response?.payload ?? '{}').errorMessage, "Unable to import module 'index'");
  }
  assert.ok(
    texts(report, 'init-report').every((text) => text.endsWith('Status: error Error Type: Runtime.ImportModuleError')),
  );
  // The Init at start-up is in phase init; each one re-run inside an invoke after it (suppressed) in phase invoke.
  assert.deepEqual(
    texts(report, 'init-report').map((text) => /Phase: (\w+)/u.exec(text)?.[1]),
    ['init', 'invoke', 'invoke'],
  );
  const shutdowns = (await extensionEvents(eventsFile)).filter((entry) => entry['eventType'] === 'SHUTDOWN');
  assert.deepEqual(
    shutdowns.map((entry) => entry['shutdownReason']),
    ['failure', 'failure', 'failure'],
  );
});

test('a runtime that exits before its first next fails Init with Runtime.ExitError', async () => {
  const { options } = await setup([event({})], { RUNTIME_EXIT_AT_INIT: '7' });
  const report = await runEmulator(options);
  assert.equal(report.status, 'passed');
  assert.equal(report.inits[0]?.errorType, 'Runtime.ExitError');
  const [invoke] = report.invokes;
  assert.equal(invoke?.response?.errorType, 'Runtime.ExitError');
  assert.equal(
    invoke?.response?.errorMessage,
    `RequestId: ${invoke?.requestId} Error: Runtime exited with error: exit status 7`,
  );
});

test('AWS_LAMBDA_LOG_FORMAT=JSON: a line that is a JSON object is the function record; other lines stay text', async () => {
  const telemetryFile = path.join(await temporary('runtime-telemetry-'), 'telemetry.jsonl');
  const { options } = await setup(
    [event({ log: ['{"level":"INFO","message":"structured"}', 'plain text', '[1,2]'] })],
    { AWS_LAMBDA_LOG_FORMAT: 'JSON' },
    { telemetry: { port: await freePort(), file: telemetryFile, types: ['function'], buffering: { timeoutMs: 25 } } },
  );
  const report = await runEmulator(options);
  assert.equal(report.status, 'passed', JSON.stringify(report.verdicts));
  const records = (await readFile(telemetryFile, 'utf8'))
    .split('\n')
    .filter((line) => line !== '')
    .flatMap((line) => JSON.parse(line) as Array<{ type: string; record: unknown }>)
    .filter((entry) => entry.type === 'function')
    .map((entry) => entry.record);
  assert.ok(
    records.some((record) => JSON.stringify(record) === '{"level":"INFO","message":"structured"}'),
    JSON.stringify(records),
  );
  assert.ok(records.includes('plain text'));
  assert.ok(records.includes('[1,2]'), 'a JSON value that is no object stays text');
  const [invoke] = report.invokes;
  const logged = report.timeline.find((entry) => entry.kind === 'function-log' && entry.text === 'plain text');
  assert.equal(logged?.requestId, invoke?.requestId);
});

test('Managed Instances: the runtime keeps maxConcurrency next calls open and invokes run side by side', async () => {
  // The first of each three runs longest, so invokes end in another order than they started.
  const events = Array.from({ length: 6 }, (_, index) =>
    event({ index, sleepMs: scaled(index % 3 === 0 ? 600 : 200) }),
  );
  const { options } = await setup(events, {}, { events: ['SHUTDOWN'] });
  const report = await runEmulator({ ...options, managedInstances: { maxConcurrency: 3 } });
  assert.equal(report.status, 'passed', JSON.stringify(report.verdicts));
  assert.equal(report.maxInFlight, 3);
  assert.deepEqual(
    report.invokes.map((invoke) => invoke.status),
    ['success', 'success', 'success', 'success', 'success', 'success'],
  );
  const answers = report.invokes.map(
    (invoke) => JSON.parse(invoke.response?.payload ?? '{}') as { worker: number; echo: { index: number } },
  );
  assert.deepEqual(
    answers.map((answer) => answer.echo.index),
    [0, 1, 2, 3, 4, 5],
    'the report lists the invokes in the events order, not in the order they ended',
  );
  assert.ok(new Set(answers.map((answer) => answer.worker)).size > 1, 'more than one next call served invokes');
  assert.equal(report.inits.length, 1);
});

test('a streamed response is assembled from its chunks; error trailers make it an error; a wrong id gets 400', async () => {
  const { options } = await setup([
    event({ stream: ['{"part":', '1,', '"more":true}'], wrongId: true }),
    event({ stream: ['partial'], streamError: true }),
  ]);
  const report = await runEmulator(options);
  assert.equal(report.status, 'passed', JSON.stringify(report.verdicts));
  const [streamed, failed] = report.invokes;
  assert.equal(streamed?.status, 'success');
  assert.deepEqual(JSON.parse(streamed?.response?.payload ?? ''), { part: 1, more: true });
  assert.equal(streamed?.response?.streamed, true);
  assert.equal(failed?.status, 'error');
  assert.equal(failed?.response?.errorType, 'StreamError');
  const logs = texts(report, 'function-log');
  assert.ok(
    logs.includes('wrong id answered 400 {"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}'),
    logs.join('\n'),
  );
  assert.ok(logs.includes('stream answered 202'));
});

test('platform.runtimeDone carries the real status, error type, produced bytes and spans; platform.report follows', async () => {
  const telemetryFile = path.join(await temporary('runtime-platform-'), 'telemetry.jsonl');
  const { options } = await setup(
    [event({ hello: 1 }), event({ error: true })],
    {},
    {
      telemetry: { port: await freePort(), file: telemetryFile, types: ['platform'], buffering: { timeoutMs: 25 } },
    },
  );
  const report = await runEmulator(options);
  assert.equal(report.status, 'passed', JSON.stringify(report.verdicts));
  const records = (await readFile(telemetryFile, 'utf8'))
    .split('\n')
    .filter((line) => line !== '')
    .flatMap((line) => JSON.parse(line) as Array<{ type: string; record: Record<string, unknown> }>);
  const done = records.filter((entry) => entry.type === 'platform.runtimeDone').map((entry) => entry.record);
  assert.deepEqual(
    done.map((record) => [record['status'], record['errorType']]),
    [
      ['success', undefined],
      ['error', 'HandlerError'],
    ],
  );
  const [first] = done;
  const metrics = first?.['metrics'] as { producedBytes: number };
  assert.equal(metrics.producedBytes, Buffer.byteLength(report.invokes[0]?.response?.payload ?? ''));
  assert.deepEqual(
    (first?.['spans'] as Array<{ name: string }>).map((span) => span.name),
    ['responseLatency', 'responseDuration'],
  );
  const reports = records.filter((entry) => entry.type === 'platform.report').map((entry) => entry.record);
  assert.deepEqual(
    reports.map((record) => record['status']),
    ['success', 'error'],
  );
  const initDone = records.find((entry) => entry.type === 'platform.initRuntimeDone')?.record;
  assert.equal(initDone?.['status'], 'success');
});

test('a runtime that cannot be started fails Init with Runtime.InvalidEntrypoint', async () => {
  const { options } = await setup([event({})]);
  const report = await runEmulator({
    ...options,
    runtime: { ...options.runtime!, command: path.join(options.layerDirectory, 'task', 'no-such-bootstrap') },
  });
  assert.equal(report.status, 'passed');
  assert.equal(report.inits[0]?.errorType, 'Runtime.InvalidEntrypoint');
  const [invoke] = report.invokes;
  assert.equal(invoke?.response?.errorType, 'Runtime.InvalidEntrypoint');
  assert.match(invoke?.response?.errorMessage ?? '', /no-such-bootstrap: no such file or directory/u);
});

test('a runtime that exits after answering: the caller keeps the answer, the invoke is an error and the environment resets', async () => {
  const { options } = await setup([event({ exitAfterAnswer: true }), event({ second: true })]);
  const report = await runEmulator(options);
  assert.equal(report.status, 'passed', JSON.stringify(report.verdicts));
  const [exited, second] = report.invokes;
  assert.equal(exited?.status, 'error');
  assert.equal(exited?.response?.kind, 'response');
  assert.equal(exited?.environmentReset, 'failure');
  assert.ok(
    texts(report, 'runtime').some((text) =>
      text.includes('Error: Runtime exited without providing a reason Runtime.ExitError'),
    ),
  );
  assert.equal(second?.status, 'success');
  assert.equal(report.inits.length, 2);
});

test('a runtime that never calls next times Init out: Sandbox.Timedout, no verdict, SHUTDOWN reason timeout', async () => {
  const { options, eventsFile } = await setup([event({})], { RUNTIME_HANG_AT_INIT: '1' });
  const report = await runEmulator({ ...options, initTimeoutMs: scaled(1500) });
  assert.deepEqual(report.verdicts, []);
  assert.equal(report.status, 'passed');
  assert.deepEqual(
    report.inits.map((init) => [init.status, init.errorType]),
    [
      ['timeout', 'Sandbox.Timedout'],
      ['timeout', 'Sandbox.Timedout'],
    ],
  );
  assert.equal(report.invokes[0]?.response?.errorType, 'Sandbox.Timedout');
  const shutdowns = (await extensionEvents(eventsFile)).filter((entry) => entry['eventType'] === 'SHUTDOWN');
  assert.deepEqual(
    shutdowns.map((entry) => entry['shutdownReason']),
    ['timeout', 'timeout'],
  );
});

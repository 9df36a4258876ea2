import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { EmulatorReport } from '../../src/core/emulator/index.js';
import { addNodeExtension, makeLayer } from '../helpers/emulator-fixtures.js';
import { nodeBinary, nodeCacheDirectory } from '../helpers/node-versions.js';
import { extBin, run, temporaryDirectory, type RunResult } from '../helpers/run-cli.js';
import { scaled } from '../helpers/time-scale.js';
import { buildZip } from '../helpers/zip-fixtures.js';

/**
 * `ext dev --function`, end to end: the CLI runs a real function (a shell
 * bootstrap, a Python function on awslambdaric, a Node function on the
 * toolkit's client) beside a layer, on the emulator's Runtime API.
 */

let work: string;
let layer: string;
/** Each INVOKE and SHUTDOWN the layer's extension received, one JSON line each. */
let eventsFile: string;
/** The extension's environment, as it saw it at start. */
let environmentFile: string;
/** The toolkit's cache for these runs: awslambdaric installs once there, and is reused by later runs. */
const toolkitCache = path.join(nodeCacheDirectory(), 'dev-function-toolkit-cache');

before(async () => {
  work = (await temporaryDirectory('dev-function-')).path;
  layer = await makeLayer();
  eventsFile = path.join(work, 'extension-events.jsonl');
  environmentFile = path.join(work, 'extension-environment.json');
  await addNodeExtension(layer, 'watcher', { eventsFile, environmentFile });
});

after(async () => {
  await rm(work, { recursive: true, force: true });
  await rm(layer, { recursive: true, force: true });
});

async function dev(flags: string[], options: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
  await rm(eventsFile, { force: true });
  return run(process.execPath, [extBin, 'dev', '--layer', layer, ...flags], {
    timeoutMs: 300_000,
    ...(options.input === undefined ? {} : { input: options.input }),
    cwd: options.cwd ?? work,
    env: { CREATE_LAMBDA_EXTENSION_CACHE: toolkitCache, ...options.env },
  });
}

function reportOf(result: RunResult): EmulatorReport {
  try {
    return JSON.parse(result.stdout) as EmulatorReport;
  } catch {
    throw new Error(`stdout is not one JSON document:\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
}

async function extensionEvents(): Promise<string[]> {
  const text = await readFile(eventsFile, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => (JSON.parse(line) as { event: { eventType: string } }).event.eventType);
}

/** Why the python tests cannot run here, or undefined. */
function pythonMissing(): string | undefined {
  const pip = spawnSync('python3', ['-m', 'pip', '--version'], { encoding: 'utf8' });
  return pip.status === 0 ? undefined : 'no python3 with pip on PATH';
}

/** A run that failed only because pip could not reach PyPI is skipped, not failed: the network is not ours. */
function offline(result: RunResult): boolean {
  return result.code !== 0 && result.stderr.includes('E_FUNCTION_RIC_INSTALL_FAILED');
}

const hasCurl = ['/usr/bin/curl', '/bin/curl', '/usr/local/bin/curl'].some((file) => existsSync(file));

/** A provided.al2023 runtime in sh: curl speaks the Runtime API. */
const shellBootstrap = [
  '#!/bin/sh',
  'api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"',
  'while true; do',
  '  headers=$(mktemp)',
  '  event=$(curl -sS -D "$headers" "$api/invocation/next")',
  '  id=$(grep -i "^lambda-runtime-aws-request-id:" "$headers" | tr -d "\\r" | cut -d" " -f2)',
  '  echo "bootstrap got $event"',
  '  printf \'{"echo":%s,"handler":"%s"}\' "$event" "$_HANDLER" | curl -sS -X POST --data-binary @- "$api/invocation/$id/response" >/dev/null',
  'done',
  '',
].join('\n');

describe('ext dev --function', { timeout: scaled(900_000) }, () => {
  test('provided.al2023: a zipped shell bootstrap answers each event from stdin, in order', async (t) => {
    if (!hasCurl) return t.skip('no curl for the shell bootstrap');
    const zip = path.join(work, 'function.zip');
    await writeFile(zip, buildZip([{ name: 'bootstrap', data: shellBootstrap, mode: 0o100755 }]));
    const result = await dev(
      ['--function', zip, '--runtime', 'provided.al2023', '--handler', 'my.handler', '--event', '-', '--json'],
      { input: '{"n": 1}\n{"n": 2}\n' },
    );
    assert.equal(result.code, 0, result.stderr);
    const report = reportOf(result);
    assert.equal(report.status, 'passed');
    assert.deepEqual(
      report.invokes.map((invoke) => [invoke.status, invoke.response?.kind, JSON.parse(invoke.response!.payload)]),
      [
        ['success', 'response', { echo: { n: 1 }, handler: 'my.handler' }],
        ['success', 'response', { echo: { n: 2 }, handler: 'my.handler' }],
      ],
    );
    assert.deepEqual(await extensionEvents(), ['INVOKE', 'INVOKE', 'SHUTDOWN']);
  });

  test('provided.al2023: the text output shows each response', async (t) => {
    if (!hasCurl) return t.skip('no curl for the shell bootstrap');
    const folder = path.join(work, 'shell-function');
    await mkdir(folder, { recursive: true });
    await writeFile(path.join(folder, 'bootstrap'), shellBootstrap, { mode: 0o755 });
    await writeFile(path.join(folder, 'event.json'), '{"greeting": "hi"}');
    const result = await dev([
      '--function',
      folder,
      '--runtime',
      'provided.al2023',
      '--event',
      'shell-function/event.json',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /RESPONSE RequestId: \S+ \{"echo":\{"greeting": "hi"\},"handler":"bootstrap"\}/);
    assert.match(result.stdout, /bootstrap got \{"greeting": "hi"\}/);
    assert.match(result.stdout, /^passed: 1 invoke\(s\)/m);
  });

  test("python3.12: a handler on awslambdaric, a raised error is the invoke's, not a verdict", async (t) => {
    const missing = pythonMissing();
    if (missing !== undefined) return t.skip(missing);
    const folder = path.join(work, 'python-function');
    await mkdir(folder, { recursive: true });
    await writeFile(
      path.join(folder, 'lambda_function.py'),
      [
        'import os',
        'def lambda_handler(event, context):',
        '    print("python got", event)',
        '    if event.get("fail"):',
        '        raise ValueError("asked to fail")',
        '    return {"event": event, "key": os.environ.get("AWS_ACCESS_KEY_ID"), "exec": os.environ["AWS_EXECUTION_ENV"]}',
        '',
      ].join('\n'),
    );
    await writeFile(path.join(folder, 'events.json'), '[{"n": 1}, {"fail": true}]');
    const result = await dev(
      ['--function', folder, '--runtime', 'python3.12', '--event', path.join(folder, 'events.json'), '--json'],
      { env: { AWS_ACCESS_KEY_ID: 'AKIA-FROM-THE-SHELL', AWS_SECRET_ACCESS_KEY: 'secret' } },
    );
    if (offline(result)) return t.skip('pip could not install awslambdaric (offline?)');
    assert.equal(result.code, 0, result.stderr);
    const report = reportOf(result);
    assert.deepEqual(report.verdicts, []);
    const [first, second] = report.invokes;
    assert.equal(first?.status, 'success');
    assert.deepEqual(JSON.parse(first.response!.payload), {
      event: { n: 1 },
      key: null,
      exec: 'AWS_Lambda_python3.12',
    });
    assert.equal(second?.status, 'error');
    assert.equal(second?.response?.kind, 'error');
    assert.equal(second?.response?.errorType, 'ValueError');
    // Without --pass-aws-credentials the extension gets none either.
    const extensionEnvironment = JSON.parse(await readFile(environmentFile, 'utf8')) as Record<string, string>;
    assert.equal(extensionEnvironment['AWS_ACCESS_KEY_ID'], undefined);
  });

  test("--pass-aws-credentials gives the function and the extensions the shell's credentials", async (t) => {
    const missing = pythonMissing();
    if (missing !== undefined) return t.skip(missing);
    const folder = path.join(work, 'python-function');
    const result = await dev(['--function', folder, '--runtime', 'python3.12', '--pass-aws-credentials', '--json'], {
      env: { AWS_ACCESS_KEY_ID: 'AKIA-FROM-THE-SHELL', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'token' },
    });
    if (offline(result)) return t.skip('pip could not install awslambdaric (offline?)');
    assert.equal(result.code, 0, result.stderr);
    const report = reportOf(result);
    assert.equal(JSON.parse(report.invokes[0]!.response!.payload).key, 'AKIA-FROM-THE-SHELL');
    const extensionEnvironment = JSON.parse(await readFile(environmentFile, 'utf8')) as Record<string, string>;
    assert.equal(extensionEnvironment['AWS_ACCESS_KEY_ID'], 'AKIA-FROM-THE-SHELL');
    assert.equal(extensionEnvironment['AWS_SESSION_TOKEN'], 'token');
  });

  test('nodejs22.x from dev.function in lambda-extension.json: no function flags', async (t) => {
    const node = await nodeBinary('22.23.5');
    if ('skip' in node) return t.skip(node.skip);
    const project = path.join(work, 'project');
    await mkdir(path.join(project, 'example-function'), { recursive: true });
    await writeFile(
      path.join(project, 'example-function', 'index.mjs'),
      'export const handler = async (event, context) => ({ event, requestId: context.awsRequestId, node: process.versions.node });\n',
    );
    await writeFile(path.join(project, 'example-function', 'event.json'), '{"from": "config"}');
    await writeFile(
      path.join(project, 'lambda-extension.json'),
      JSON.stringify({
        name: 'watcher',
        language: 'go',
        entry: '.',
        architectures: ['x86_64', 'arm64'],
        version: '1.0.0',
        dev: {
          function: {
            path: 'example-function',
            runtime: 'nodejs22.x',
            handler: 'index.handler',
            event: 'example-function/event.json',
          },
        },
      }),
    );
    const result = await dev(['--cwd', project, '--node', node.binary.node, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const report = reportOf(result);
    assert.equal(report.invokes.length, 1);
    const answer = JSON.parse(report.invokes[0]!.response!.payload) as Record<string, unknown>;
    assert.deepEqual(answer['event'], { from: 'config' });
    assert.equal(answer['requestId'], report.invokes[0]!.requestId);
    assert.equal(answer['node'], '22.23.5');
    // --no-function: the simulated handler, whatever the config says.
    const simulated = reportOf(await dev(['--cwd', project, '--no-function', '--json']));
    assert.equal(simulated.invokes[0]!.response, undefined);
  });

  test('an event file that is not JSON: one line naming the file and the line, nothing started', async () => {
    await writeFile(path.join(work, 'bad.jsonl'), '{"n": 1}\n{"n": 2,}\n');
    const result = await dev(['--function', work, '--runtime', 'provided.al2023', '--event', 'bad.jsonl']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^error\[E_FUNCTION_EVENT_INVALID\]: --event bad\.jsonl:2:9: not JSON: /m);
    assert.equal(result.stdout, '');
  });
});

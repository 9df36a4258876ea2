import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RuntimeCommand } from '../../src/core/emulator/types.js';
import { CliError } from '../../src/core/errors.js';
import { findPython, installAwslambdaric, prepareFunction } from '../../src/core/function/index.js';
import { scaled } from '../helpers/time-scale.js';
import { nodeBinary } from '../helpers/node-versions.js';
import { buildZip } from '../helpers/zip-fixtures.js';

/**
 * prepareFunction with real processes: the command it builds is started
 * against a minimal Runtime API (one event, one response), so these tests
 * hold whatever the emulator does with it. awslambdaric is really installed
 * by pip, into a temp cache.
 */

interface Answer {
  kind: 'response' | 'error';
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** Serves one event on `next`, records what comes back, then leaves the next `next` hanging. */
async function miniRuntimeApi(event: string): Promise<{ address: string; answer: Promise<Answer>; close(): void }> {
  let served = false;
  let settle: (answer: Answer) => void = () => {};
  const answer = new Promise<Answer>((resolve) => (settle = resolve));
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = request.url ?? '';
      if (request.method === 'GET' && url === '/2018-06-01/runtime/invocation/next') {
        if (served) return; // hangs, as Lambda's next does between invokes
        served = true;
        response.writeHead(200, {
          'Content-Type': 'application/json',
          'Lambda-Runtime-Aws-Request-Id': 'request-1',
          'Lambda-Runtime-Deadline-Ms': String(Date.now() + 30_000),
          'Lambda-Runtime-Invoked-Function-Arn': 'arn:aws:lambda:us-east-1:012345678912:function:ext-dev-function',
          'Lambda-Runtime-Trace-Id': 'Root=1-00000000-000000000000000000000000;Sampled=0',
        });
        response.end(event);
        return;
      }
      const match = /^\/2018-06-01\/runtime\/invocation\/request-1\/(response|error)$/.exec(url);
      if (request.method === 'POST' && match !== null) {
        settle({
          kind: match[1] as 'response' | 'error',
          body: Buffer.concat(chunks).toString(),
          headers: request.headers,
        });
        response.writeHead(202).end('{"status":"OK"}');
        return;
      }
      if (request.method === 'POST' && url === '/2018-06-01/runtime/init/error') {
        settle({ kind: 'error', body: Buffer.concat(chunks).toString(), headers: request.headers });
        response.writeHead(202).end('{"status":"OK"}');
        return;
      }
      response.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    answer,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** Runs the runtime command for one invoke; returns the answer and what the process printed. */
async function invokeOnce(runtime: RuntimeCommand, event: string): Promise<Answer & { output: string }> {
  const api = await miniRuntimeApi(event);
  const child = spawn(runtime.command, runtime.args, {
    cwd: runtime.cwd,
    env: { ...runtime.env, AWS_LAMBDA_RUNTIME_API: api.address },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<string>((resolve) =>
    child.on('exit', (code, signal) => resolve(`the runtime exited (${code ?? signal}) before answering`)),
  );
  try {
    const answer = await Promise.race([
      api.answer,
      exited.then((why) => Promise.reject(new Error(`${why}:\n${output}`))),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`no answer in time:\n${output}`)), scaled(60_000)).unref(),
      ),
    ]);
    return { ...answer, output };
  } finally {
    child.kill('SIGKILL');
    api.close();
  }
}

let work: string;
let layer: string;
let cache: string;

before(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'function-prepare-'));
  layer = path.join(work, 'layer');
  cache = path.join(work, 'cache');
  await mkdir(path.join(layer, 'extensions'), { recursive: true });
  await mkdir(path.join(layer, 'python'), { recursive: true });
  // A module the layer provides, found through PYTHONPATH as under /opt/python.
  await writeFile(path.join(layer, 'python', 'layer_helper.py'), 'GREETING = "hello from the layer"\n');
  await writeFile(
    path.join(layer, 'wrapper'),
    '#!/bin/sh\necho "wrapper got: $1" >&2\nexport WRAPPED=yes\nexec "$@"\n',
  );
  await chmod(path.join(layer, 'wrapper'), 0o755);
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('provided.al2023', () => {
  const bootstrap = [
    '#!/bin/sh',
    'set -eu',
    'api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"',
    'headers=$(mktemp)',
    'event=$(curl -sS -D "$headers" "$api/invocation/next")',
    'id=$(grep -i "^lambda-runtime-aws-request-id:" "$headers" | tr -d "\\r" | cut -d" " -f2)',
    'printf \'{"echo":%s,"handler":"%s","root":"%s","exec":"%s"}\' "$event" "$_HANDLER" "$LAMBDA_TASK_ROOT" "${AWS_EXECUTION_ENV:-none}" \\',
    '  | curl -sS -X POST --data-binary @- "$api/invocation/$id/response" >/dev/null',
    'sleep 60',
    '',
  ].join('\n');

  it('runs the bootstrap of a zipped function, unpacked into a temp folder that cleanup removes', async () => {
    const zip = path.join(work, 'function.zip');
    await writeFile(zip, buildZip([{ name: 'bootstrap', data: bootstrap, mode: 0o100755 }]));
    const prepared = await prepareFunction({ path: zip, runtime: 'provided.al2023', layerDirectory: layer });
    try {
      assert.notEqual(prepared.taskRoot, path.dirname(zip));
      assert.equal(prepared.runtime.command, path.join(prepared.taskRoot, 'bootstrap'));
      assert.equal(prepared.handler, 'bootstrap');
      assert.equal(((await stat(prepared.runtime.command)).mode & 0o777).toString(8), '755');
      const answer = await invokeOnce(prepared.runtime, '{"n":1}');
      assert.equal(answer.kind, 'response');
      assert.deepEqual(JSON.parse(answer.body), {
        echo: { n: 1 },
        handler: 'bootstrap',
        root: prepared.taskRoot,
        exec: 'none',
      });
    } finally {
      await prepared.cleanup();
    }
    await assert.rejects(stat(prepared.taskRoot), { code: 'ENOENT' });
  });

  it('takes the layer bootstrap when the function has none, as Lambda looks in /opt', async () => {
    const layerWithBootstrap = path.join(work, 'layer-bootstrap');
    await mkdir(path.join(layerWithBootstrap, 'extensions'), { recursive: true });
    await writeFile(path.join(layerWithBootstrap, 'bootstrap'), bootstrap, { mode: 0o755 });
    const empty = path.join(work, 'empty-function');
    await mkdir(empty, { recursive: true });
    const prepared = await prepareFunction({
      path: empty,
      runtime: 'provided.al2023',
      layerDirectory: layerWithBootstrap,
    });
    assert.equal(prepared.runtime.command, path.join(layerWithBootstrap, 'bootstrap'));
    await prepared.cleanup();
  });

  it('refuses a bootstrap without the exec bit, or none at all, naming it', async () => {
    const folder = path.join(work, 'not-executable');
    await mkdir(folder, { recursive: true });
    await writeFile(path.join(folder, 'bootstrap'), bootstrap, { mode: 0o644 });
    await assert.rejects(
      prepareFunction({ path: folder, runtime: 'provided.al2023', layerDirectory: layer }),
      (error: unknown) => error instanceof CliError && error.code === 'E_FUNCTION_BOOTSTRAP_UNUSABLE',
    );
    const none = path.join(work, 'no-bootstrap');
    await mkdir(none, { recursive: true });
    await assert.rejects(
      prepareFunction({ path: none, runtime: 'provided.al2023', layerDirectory: layer }),
      (error: unknown) => error instanceof CliError && error.code === 'E_FUNCTION_BOOTSTRAP_MISSING',
    );
    await assert.rejects(
      prepareFunction({ path: path.join(work, 'missing'), runtime: 'provided.al2023', layerDirectory: layer }),
      (error: unknown) => error instanceof CliError && error.code === 'E_FUNCTION_PATH_INVALID',
    );
  });

  it('leaves no temp folder behind when a zip is refused', async () => {
    const zip = path.join(work, 'evil.zip');
    await writeFile(zip, buildZip([{ name: '../escape', data: 'x' }]));
    const before = (await readdir(os.tmpdir())).filter((name) => name.startsWith('ext-dev-function-')).length;
    await assert.rejects(
      prepareFunction({ path: zip, runtime: 'provided.al2023', layerDirectory: layer }),
      (error: unknown) => error instanceof CliError && error.code === 'E_FUNCTION_PATH_INVALID',
    );
    const afterCount = (await readdir(os.tmpdir())).filter((name) => name.startsWith('ext-dev-function-')).length;
    assert.ok(afterCount <= before);
  });
});

describe('python3.x on awslambdaric', { timeout: scaled(600_000) }, () => {
  let skip: string | undefined;
  let functionDirectory: string;

  before(async () => {
    try {
      await findPython({ minor: 12 });
    } catch {
      skip = 'no python3 on PATH';
    }
    functionDirectory = path.join(work, 'python-function');
    await mkdir(functionDirectory, { recursive: true });
    await writeFile(
      path.join(functionDirectory, 'lambda_function.py'),
      [
        'import os, sys',
        'from layer_helper import GREETING',
        'def lambda_handler(event, context):',
        '    print("handling", event)',
        '    return {"event": event, "greeting": GREETING, "wrapped": os.environ.get("WRAPPED"),',
        '            "request": context.aws_request_id, "exec": os.environ["AWS_EXECUTION_ENV"],',
        '            "key": os.environ.get("AWS_ACCESS_KEY_ID")}',
        '',
      ].join('\n'),
    );
  });

  it('installs the pinned awslambdaric once into the cache, then reuses it', async (t) => {
    if (skip !== undefined) return t.skip(skip);
    const python = await findPython({ minor: 12 });
    const progress: string[] = [];
    let first: Awaited<ReturnType<typeof installAwslambdaric>>;
    try {
      first = await installAwslambdaric({ python, cacheDirectory: cache, onProgress: (m) => progress.push(m) });
    } catch (error) {
      // PyPI out of reach: not this code's failure; the tests after this one need the install too.
      if (!(error instanceof CliError) || error.code !== 'E_FUNCTION_RIC_INSTALL_FAILED') throw error;
      skip = `pip could not install awslambdaric: ${error.message}`;
      return t.skip(skip);
    }
    assert.equal(path.dirname(first.directory), cache);
    assert.match(path.basename(first.directory), new RegExp(`^awslambdaric-${first.version}-cp3${python.minor}$`));
    assert.equal(progress.length, 1);
    assert.ok((await stat(path.join(first.directory, 'awslambdaric', '__main__.py'))).isFile());
    const second = await installAwslambdaric({ python, cacheDirectory: cache, onProgress: (m) => progress.push(m) });
    assert.equal(second.directory, first.directory);
    assert.equal(progress.length, 1, 'the second call installs nothing');
    // No staging folder or requirements file is left beside it.
    assert.deepEqual(await readdir(cache), [path.basename(first.directory)]);
  });

  it('answers an invoke through the layer wrapper, with the layer on PYTHONPATH and no credentials', async (t) => {
    if (skip !== undefined) return t.skip(skip);
    const prepared = await prepareFunction({
      path: functionDirectory,
      runtime: 'python3.12',
      layerDirectory: layer,
      cacheDirectory: cache,
      env: { AWS_LAMBDA_EXEC_WRAPPER: '/opt/wrapper' },
      hostEnvironment: { ...process.env, AWS_ACCESS_KEY_ID: 'AKIA-SHELL' },
    });
    assert.equal(prepared.runtime.command, path.join(layer, 'wrapper'));
    assert.deepEqual(prepared.runtime.args.slice(1), ['-m', 'awslambdaric', 'lambda_function.lambda_handler']);
    assert.deepEqual(prepared.credentials, {});
    const answer = await invokeOnce(prepared.runtime, '{"hello": "world"}');
    assert.equal(answer.kind, 'response', answer.body);
    assert.deepEqual(JSON.parse(answer.body), {
      event: { hello: 'world' },
      greeting: 'hello from the layer',
      wrapped: 'yes',
      request: 'request-1',
      exec: 'AWS_Lambda_python3.12',
      key: null,
    });
    assert.match(answer.output, /wrapper got: \//);
    await prepared.cleanup();
  });

  it('passes the shell credentials with --pass-aws-credentials', async (t) => {
    if (skip !== undefined) return t.skip(skip);
    const prepared = await prepareFunction({
      path: functionDirectory,
      runtime: 'python3.12',
      layerDirectory: layer,
      cacheDirectory: cache,
      passAwsCredentials: true,
      hostEnvironment: { ...process.env, AWS_ACCESS_KEY_ID: 'AKIA-SHELL', AWS_SECRET_ACCESS_KEY: 's' },
    });
    assert.deepEqual(prepared.credentials, { AWS_ACCESS_KEY_ID: 'AKIA-SHELL', AWS_SECRET_ACCESS_KEY: 's' });
    const answer = await invokeOnce(prepared.runtime, '{}');
    assert.equal(JSON.parse(answer.body).key, 'AKIA-SHELL');
    await prepared.cleanup();
  });

  it('reports a handler that raises as Lambda does', async (t) => {
    if (skip !== undefined) return t.skip(skip);
    const failing = path.join(work, 'python-failing');
    await mkdir(failing, { recursive: true });
    await writeFile(path.join(failing, 'app.py'), 'def handler(event, context):\n    raise ValueError("boom")\n');
    const prepared = await prepareFunction({
      path: failing,
      runtime: 'python3.12',
      handler: 'app.handler',
      layerDirectory: layer,
      cacheDirectory: cache,
    });
    const answer = await invokeOnce(prepared.runtime, '{}');
    assert.equal(answer.kind, 'error');
    assert.equal(JSON.parse(answer.body).errorType, 'ValueError');
    await prepared.cleanup();
  });
});

describe("nodejs22.x on the toolkit's runtime client", { timeout: scaled(600_000) }, () => {
  it("answers an invoke, with the layer's nodejs/node_modules on NODE_PATH", async (t) => {
    const node = await nodeBinary('22.23.5');
    if ('skip' in node) return t.skip(node.skip);
    const functionDirectory = path.join(work, 'node-function');
    await mkdir(functionDirectory, { recursive: true });
    await mkdir(path.join(layer, 'nodejs', 'node_modules', 'layer-helper'), { recursive: true });
    await writeFile(
      path.join(layer, 'nodejs', 'node_modules', 'layer-helper', 'index.js'),
      'exports.greeting = "hello from the layer";\n',
    );
    await writeFile(
      path.join(functionDirectory, 'index.js'),
      [
        'const { greeting } = require("layer-helper");',
        'exports.handler = async (event, context) => ({',
        '  event, greeting, request: context.awsRequestId, exec: process.env.AWS_EXECUTION_ENV,',
        '  node: process.versions.node, tz: process.env.TZ,',
        '});',
        '',
      ].join('\n'),
    );
    const prepared = await prepareFunction({
      path: functionDirectory,
      runtime: 'nodejs22.x',
      layerDirectory: layer,
      nodePath: node.binary.node,
    });
    assert.deepEqual(prepared.warnings, []);
    assert.equal(prepared.runtime.command, node.binary.node);
    assert.match(prepared.runtime.args[0]!, /build\/src\/runtime-client\/node\/index\.js$/);
    const answer = await invokeOnce(prepared.runtime, '{"n": 2}');
    assert.equal(answer.kind, 'response', answer.body);
    assert.deepEqual(JSON.parse(answer.body), {
      event: { n: 2 },
      greeting: 'hello from the layer',
      request: 'request-1',
      exec: 'AWS_Lambda_nodejs22.x',
      node: '22.23.5',
      tz: ':UTC',
    });
    await prepared.cleanup();
  });

  it("warns when --node is not the runtime's major", async () => {
    const functionDirectory = path.join(work, 'node-function-20');
    await mkdir(functionDirectory, { recursive: true });
    const prepared = await prepareFunction({
      path: functionDirectory,
      runtime: 'nodejs24.x',
      layerDirectory: layer,
      nodePath: process.execPath,
    });
    if (!process.versions.node.startsWith('24.')) {
      assert.equal(prepared.warnings.length, 1);
      assert.match(prepared.warnings[0]!, /^nodejs24\.x: the function runs on node /);
    }
    await prepared.cleanup();
  });
});

describe('AWS_LAMBDA_EXEC_WRAPPER', () => {
  it('refuses a wrapper that is not in the layer', async () => {
    const folder = path.join(work, 'wrapper-function');
    await mkdir(folder, { recursive: true });
    await assert.rejects(
      prepareFunction({
        path: folder,
        runtime: 'nodejs22.x',
        nodePath: process.execPath,
        layerDirectory: layer,
        env: { AWS_LAMBDA_EXEC_WRAPPER: '/opt/missing-wrapper' },
      }),
      (error: unknown) => error instanceof CliError && error.code === 'E_FUNCTION_WRAPPER_INVALID',
    );
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CliError } from '../../src/core/errors.js';
import type { ErrorCode } from '../../src/core/error-codes.js';
import {
  awslambdaricPins,
  defaultHandler,
  functionEnvironment,
  functionRuntimes,
  logStreamName,
  mapLambdaPath,
  parseRuntime,
} from '../../src/core/function/index.js';
import { requirementsText } from '../../src/core/function/awslambdaric-pins.js';
import { layerNodePath, layerPythonPath, wrapCommand } from '../../src/core/function/environment.js';
import { inspectExecutableHead } from '../../src/core/function/executable.js';
import { nodeRuntimeClientPath } from '../../src/core/function/node.js';
import { checkHandler } from '../../src/core/function/runtimes.js';
import { configProblems } from '../../src/core/config.js';

const withCode =
  (code: ErrorCode) =>
  (error: unknown): boolean =>
    error instanceof CliError && error.code === code;

const base = {
  handler: 'index.handler',
  taskRoot: '/work/fn',
  layerDirectory: '/work/layer',
  runtimeDirectory: '/toolkit/runtime-client/node',
  interpreterDirectory: '/nodes/22/bin',
  functionName: 'my-function',
  memorySizeMB: 256,
  region: 'eu-west-1',
  now: new Date('2026-12-07T08:00:00Z'),
  streamId: '0123456789abcdef0123456789abcdef',
};

describe('runtimes', () => {
  it('knows provided.al2023, python3.9 to 3.14 and nodejs22.x/24.x', () => {
    assert.deepEqual(parseRuntime('provided.al2023'), { family: 'provided', name: 'provided.al2023' });
    assert.deepEqual(parseRuntime('python3.12'), { family: 'python', name: 'python3.12', minor: 12 });
    assert.deepEqual(parseRuntime('nodejs24.x'), { family: 'nodejs', name: 'nodejs24.x', major: 24 });
    assert.equal(functionRuntimes.length, 9);
    for (const name of ['python3.8', 'python3.15', 'nodejs20.x', 'provided.al2', 'java21', '', 'python3.1x']) {
      assert.throws(() => parseRuntime(name), withCode('E_FUNCTION_RUNTIME_UNKNOWN'), name);
    }
  });

  it('names where a bad runtime came from', () => {
    assert.throws(
      () => parseRuntime('go1.x', '"dev.function.runtime" in x/lambda-extension.json'),
      (error: unknown) => error instanceof CliError && error.message.startsWith('"dev.function.runtime" in x/'),
    );
  });

  it('defaults and checks handlers per runtime', () => {
    assert.equal(defaultHandler(parseRuntime('nodejs22.x')), 'index.handler');
    assert.equal(defaultHandler(parseRuntime('python3.13')), 'lambda_function.lambda_handler');
    assert.equal(defaultHandler(parseRuntime('provided.al2023')), 'bootstrap');
    checkHandler('src/app.handler', parseRuntime('nodejs22.x'));
    checkHandler('anything', parseRuntime('provided.al2023'));
    for (const handler of ['index', '.handler', 'index.', '', 'a b.c']) {
      assert.throws(() => checkHandler(handler, parseRuntime('python3.12')), withCode('E_FUNCTION_HANDLER_INVALID'));
    }
  });
});

describe('the function environment', () => {
  it('is the environment Lambda gives a nodejs function, with its folders mapped here', () => {
    const { env, warnings } = functionEnvironment({ ...base, runtime: parseRuntime('nodejs22.x') });
    assert.deepEqual(warnings, []);
    assert.deepEqual(env, {
      LANG: 'en_US.UTF-8',
      TZ: ':UTC',
      PATH: '/nodes/22/bin:/usr/local/bin:/usr/bin:/bin:/work/layer/bin',
      LD_LIBRARY_PATH:
        '/lib64:/usr/lib64:/toolkit/runtime-client/node:/toolkit/runtime-client/node/lib:/work/fn:/work/fn/lib:/work/layer/lib',
      NODE_PATH:
        '/work/layer/nodejs/node22/node_modules:/work/layer/nodejs/node_modules:/toolkit/runtime-client/node/node_modules',
      LAMBDA_TASK_ROOT: '/work/fn',
      LAMBDA_RUNTIME_DIR: '/toolkit/runtime-client/node',
      _HANDLER: 'index.handler',
      AWS_LAMBDA_FUNCTION_NAME: 'my-function',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
      AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/my-function',
      AWS_LAMBDA_LOG_STREAM_NAME: '2026/12/07/[$LATEST]0123456789abcdef0123456789abcdef',
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_REGION: 'eu-west-1',
      AWS_DEFAULT_REGION: 'eu-west-1',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    });
  });

  it('python gets PYTHONPATH with the layer python/ folders, then the runtime client', () => {
    const { env } = functionEnvironment({
      ...base,
      runtime: parseRuntime('python3.12'),
      runtimeDirectory: '/cache/awslambdaric-4.2.2-cp312',
    });
    assert.equal(
      env['PYTHONPATH'],
      '/work/layer/python/lib/python3.12/site-packages:/work/layer/python:/cache/awslambdaric-4.2.2-cp312',
    );
    assert.equal(env['AWS_EXECUTION_ENV'], 'AWS_Lambda_python3.12');
    assert.equal(env['NODE_PATH'], undefined);
  });

  it('provided.al2023 has no AWS_EXECUTION_ENV, no interpreter folder, no NODE_PATH or PYTHONPATH', () => {
    const { env } = functionEnvironment({
      ...base,
      runtime: parseRuntime('provided.al2023'),
      interpreterDirectory: undefined,
      runtimeDirectory: '/work/fn',
    });
    assert.equal(env['AWS_EXECUTION_ENV'], undefined);
    assert.equal(env['PATH'], '/usr/local/bin:/usr/bin:/bin:/work/layer/bin');
    assert.equal(env['NODE_PATH'], undefined);
    assert.equal(env['PYTHONPATH'], undefined);
  });

  it('--env may set unreserved variables, not reserved ones; credentials only when passed', () => {
    const { env, warnings } = functionEnvironment({
      ...base,
      runtime: parseRuntime('nodejs24.x'),
      env: {
        MY_SETTING: '1',
        PATH: '/custom',
        AWS_REGION: 'mars-1',
        _HANDLER: 'x.y',
        AWS_LAMBDA_EXEC_WRAPPER: '/opt/w',
      },
      credentials: { AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 'secret' },
    });
    assert.equal(env['MY_SETTING'], '1');
    assert.equal(env['PATH'], '/custom');
    assert.equal(env['AWS_REGION'], 'eu-west-1');
    assert.equal(env['_HANDLER'], 'index.handler');
    assert.equal(env['AWS_LAMBDA_EXEC_WRAPPER'], '/opt/w');
    assert.equal(env['AWS_ACCESS_KEY_ID'], 'AKIA');
    assert.equal(warnings.length, 2);
    assert.match(warnings[0]!, /^--env AWS_REGION: /);
    const plain = functionEnvironment({ ...base, runtime: parseRuntime('nodejs24.x') }).env;
    for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'])
      assert.equal(plain[key], undefined);
    assert.equal(plain['AWS_LAMBDA_RUNTIME_API'], undefined, 'the emulator adds it once it listens');
  });

  it('Managed Instances: the runtime sees AWS_LAMBDA_MAX_CONCURRENCY', () => {
    const { env } = functionEnvironment({ ...base, runtime: parseRuntime('nodejs22.x'), maxConcurrency: 8 });
    assert.equal(env['AWS_LAMBDA_MAX_CONCURRENCY'], '8');
    assert.equal(env['AWS_LAMBDA_INITIALIZATION_TYPE'], 'lambda-managed-instances');
  });

  it('layer folders follow Lambda conventions', () => {
    assert.deepEqual(layerNodePath('/l', 24), ['/l/nodejs/node24/node_modules', '/l/nodejs/node_modules']);
    assert.deepEqual(layerPythonPath('/l', 9), ['/l/python/lib/python3.9/site-packages', '/l/python']);
    assert.equal(logStreamName(new Date('2026-01-02T23:59:59Z'), 'ab'), '2026/01/02/[$LATEST]ab');
  });
});

describe('AWS_LAMBDA_EXEC_WRAPPER', () => {
  it('maps /opt to the layer and /var/task to the function, never out of them', () => {
    assert.equal(mapLambdaPath('/opt/wrapper', '/l', '/t'), '/l/wrapper');
    assert.equal(mapLambdaPath('/opt/bin/w.sh', '/l', '/t'), '/l/bin/w.sh');
    assert.equal(mapLambdaPath('/var/task/w', '/l', '/t'), '/t/w');
    assert.equal(mapLambdaPath('/opt/../../etc/passwd', '/l', '/t'), '/l/etc/passwd');
    assert.equal(mapLambdaPath('/optional/w', '/l', '/t'), '/optional/w');
    assert.equal(mapLambdaPath('/usr/local/bin/w', '/l', '/t'), '/usr/local/bin/w');
    assert.equal(mapLambdaPath('wrapper', '/l', '/t'), undefined);
  });

  it('starts the runtime through the wrapper with the original argv', () => {
    assert.deepEqual(wrapCommand('/l/wrapper', { command: '/usr/bin/python3', args: ['-m', 'awslambdaric', 'a.b'] }), {
      command: '/l/wrapper',
      args: ['/usr/bin/python3', '-m', 'awslambdaric', 'a.b'],
    });
  });
});

describe('executable heads', () => {
  const elf = (machine: number) => {
    const head = Buffer.alloc(64 + 56);
    head.write('\x7fELF', 0, 'latin1');
    head[4] = 2; // 64-bit
    head[5] = 1; // little-endian
    head[6] = 1;
    head.writeUInt16LE(2, 16); // ET_EXEC
    head.writeUInt16LE(machine, 18);
    head.writeBigUInt64LE(64n, 0x20); // program headers right after the header
    head.writeUInt16LE(64, 0x34);
    head.writeUInt16LE(56, 0x36);
    head.writeUInt16LE(1, 0x38);
    head.writeUInt32LE(1, 64); // PT_LOAD
    return head;
  };
  it('tells the architecture of an ELF', () => {
    assert.equal(inspectExecutableHead(elf(62), 120).architecture, 'x86_64');
    assert.equal(inspectExecutableHead(elf(183), 120).architecture, 'arm64');
    assert.equal(inspectExecutableHead(elf(40), 120).architecture, undefined);
    assert.equal(inspectExecutableHead(elf(40), 120).machine, 'ARM (32-bit)');
  });
  it('refuses a #! line in CRLF, accepts LF scripts', () => {
    assert.match(inspectExecutableHead(Buffer.from('#!/bin/sh\r\necho\r\n'), 17).problem ?? '', /CRLF/);
    assert.deepEqual(inspectExecutableHead(Buffer.from('#!/bin/sh\necho\n'), 15), {});
  });
});

describe('awslambdaric pins', () => {
  it('pins every supported minor, with a hash for each Linux wheel', () => {
    for (const minor of [9, 10, 11, 12, 13, 14]) {
      const pins = awslambdaricPins(minor)!;
      assert.equal(pins[0]!.name, 'awslambdaric');
      assert.equal(pins[0]!.version, minor === 9 ? '4.0.4' : '4.2.2');
      for (const pin of pins) {
        assert.ok(pin.sha256.length > 0);
        for (const hash of pin.sha256) assert.match(hash, /^[0-9a-f]{64}$/);
      }
    }
    assert.equal(awslambdaricPins(8), undefined);
    assert.equal(awslambdaricPins(15), undefined);
  });
  it('writes a requirements file pip reads with --require-hashes', () => {
    const text = requirementsText([{ name: 'a', version: '1.0', sha256: ['0'.repeat(64), '1'.repeat(64)] }]);
    assert.equal(text, `a==1.0 \\\n    --hash=sha256:${'0'.repeat(64)} \\\n    --hash=sha256:${'1'.repeat(64)}\n`);
  });
});

describe('the Node runtime client', () => {
  it('is build/src/runtime-client/node/index.js in the package', () => {
    assert.equal(nodeRuntimeClientPath('/pkg'), '/pkg/build/src/runtime-client/node/index.js');
  });
});

describe('dev.function in lambda-extension.json', () => {
  const valid = { name: 'my-ext', language: 'go', entry: '.', architectures: ['x86_64'], version: '1.0.0' };
  it('accepts path, handler, runtime and event', () => {
    const dev = {
      function: { path: 'example-function', runtime: 'nodejs22.x', handler: 'index.handler', event: 'e.json' },
    };
    assert.deepEqual(configProblems({ ...valid, dev }), []);
  });
  it('names each problem', () => {
    assert.deepEqual(configProblems({ ...valid, dev: [] }), [
      '"dev" must be an object such as {"function": {"path": "example-function", "runtime": "nodejs22.x", "handler": "index.handler"}}',
    ]);
    assert.deepEqual(configProblems({ ...valid, dev: { other: 1, function: { path: '', nope: 'x' } } }), [
      '"dev" has no field "other"; it knows "function"',
      '"dev.function.path" must be a non-empty string',
      '"dev.function" has no field "nope"; it knows "path", "handler", "runtime", "event"',
    ]);
  });
});

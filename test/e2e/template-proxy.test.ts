import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { EmulatorReport } from '../../src/core/emulator/index.js';
import type { InspectReport } from '../../src/core/inspect/index.js';
import { hostArchitecture } from '../../src/core/layer/architectures.js';
import { environmentWith, lambdaNodeVersions, nodeBinary } from '../helpers/node-versions.js';
import { describeRun, run, runCreate, temporaryDirectory } from '../helpers/run-cli.js';
import { scaled } from '../helpers/time-scale.js';

/**
 * `--template proxy` in Go and TypeScript, as a user gets it: scaffolded, its
 * toolkit installed from the packed tarball the project carries in vendor/,
 * its own tests run (go test -race; npm test on Lambda's node versions), then
 * built, packed and inspected, and the packed layer run under `ext dev
 * --function` with a Node.js, a Python and a provided.al2023 function, in both
 * Lambda modes. Each answer (a response, a handler error, a timeout, a stream)
 * must be what the same function answers without the proxy, and the proxy's
 * own log must show that the invocations went through it.
 */

const architecture = hostArchitecture() ?? 'x86_64';
let workspace: { path: string; cleanup: () => Promise<void> };
let functions: string;

before(async () => {
  workspace = await temporaryDirectory('cle-template-proxy-');
  functions = path.join(workspace.path, 'functions');
  await writeFunctions(functions);
});
after(async () => workspace?.cleanup());

/** The function timeout: 1 s, scaled by this machine's load like every wall-clock limit of the suite. */
const timeoutSeconds = Math.max(1, Math.ceil(scaled(1000) / 1000));
/** Events every function answers alike: a response, a handler error, and a timeout. */
const events = [{ key: 'value' }, { fail: true }, { sleep: timeoutSeconds * 1000 + 2000 }];

async function writeFunctions(directory: string): Promise<void> {
  const node = path.join(directory, 'node');
  await mkdir(node, { recursive: true });
  await writeFile(
    path.join(node, 'index.mjs'),
    [
      'export const handler = async (event) => {',
      "  if (event.fail) throw new Error('handler failed on purpose');",
      '  if (event.sleep) await new Promise((resolve) => setTimeout(resolve, event.sleep));',
      '  return { echo: event };',
      '};',
      '',
    ].join('\n'),
  );
  // A streamed response: two chunks with a pause between them. It waits for the stream to finish: the
  // toolkit's runtime client fails a handler that returns before (with "Response stream is not finished.").
  await writeFile(
    path.join(node, 'stream.mjs'),
    [
      "import { finished } from 'node:stream/promises';",
      'export const handler = awslambda.streamifyResponse(async (event, responseStream) => {',
      "  responseStream.write('chunk-1;');",
      '  await new Promise((resolve) => setTimeout(resolve, 50));',
      "  responseStream.end('chunk-2');",
      '  await finished(responseStream);',
      '});',
      '',
    ].join('\n'),
  );
  const python = path.join(directory, 'python');
  await mkdir(python, { recursive: true });
  await writeFile(
    path.join(python, 'lambda_function.py'),
    [
      'import time',
      '',
      'def lambda_handler(event, context):',
      '    if event.get("fail"):',
      '        raise ValueError("handler failed on purpose")',
      '    if event.get("sleep"):',
      '        time.sleep(event["sleep"] / 1000)',
      '    return {"echo": event}',
      '',
    ].join('\n'),
  );
  await writeFile(path.join(directory, 'events.json'), JSON.stringify(events));
}

/**
 * A provided.al2023 function: a Go runtime (standard library) and a bootstrap
 * that starts it through the wrapper, since Lambda runs no
 * AWS_LAMBDA_EXEC_WRAPPER on OS-only runtimes. The layer is /opt, found as
 * the last entry of PATH less /bin, as on Lambda (ext dev maps it likewise).
 */
async function providedFunction(wrapperName: string | undefined): Promise<string> {
  // Once per variant: tests run concurrently, and a second caller must not build from a half-written source.
  const key = wrapperName ?? '';
  let built = providedFunctions.get(key);
  if (built === undefined) {
    built = buildProvidedFunction(wrapperName);
    providedFunctions.set(key, built);
  }
  return built;
}

const providedFunctions = new Map<string, Promise<string>>();
let providedSource: Promise<string> | undefined;

async function writeProvidedSource(): Promise<string> {
  const source = path.join(functions, 'provided-source');
  await mkdir(source, { recursive: true });
  await writeFile(path.join(source, 'go.mod'), 'module example.com/runtime\n\ngo 1.21\n');
  await writeFile(path.join(source, 'main.go'), providedRuntime);
  return source;
}

async function buildProvidedFunction(wrapperName: string | undefined): Promise<string> {
  const directory = path.join(functions, `provided-${wrapperName ?? 'direct'}`);
  if (existsSync(path.join(directory, 'runtime'))) return directory;
  providedSource ??= writeProvidedSource();
  const source = await providedSource;
  await mkdir(directory, { recursive: true });
  const built = await run('go', ['build', '-o', path.join(directory, 'runtime'), '.'], {
    cwd: source,
    env: { CGO_ENABLED: '0', GOTOOLCHAIN: 'local' },
    timeoutMs: 180_000,
  });
  assert.equal(built.code, 0, describeRun(built));
  const bootstrap = path.join(directory, 'bootstrap');
  await writeFile(
    bootstrap,
    wrapperName === undefined
      ? '#!/bin/sh\nexec "$LAMBDA_TASK_ROOT/runtime"\n'
      : `#!/bin/sh\nopt=\${PATH##*:}\nexec "\${opt%/bin}/${wrapperName}" "$LAMBDA_TASK_ROOT/runtime"\n`,
  );
  await chmod(bootstrap, 0o755);
  return directory;
}

const providedRuntime = `package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	api := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/invocation/"
	for {
		next, err := http.Get(api + "next")
		if err != nil {
			os.Exit(1)
		}
		body, _ := io.ReadAll(next.Body)
		next.Body.Close()
		id := next.Header.Get("Lambda-Runtime-Aws-Request-Id")
		var event map[string]any
		json.Unmarshal(body, &event)
		if milliseconds, ok := event["sleep"].(float64); ok {
			time.Sleep(time.Duration(milliseconds) * time.Millisecond)
		}
		if event["fail"] == true {
			request, _ := http.NewRequest(http.MethodPost, api+id+"/error",
				bytes.NewReader([]byte(\`{"errorMessage":"handler failed on purpose","errorType":"HandlerError"}\`)))
			request.Header.Set("Lambda-Runtime-Function-Error-Type", "HandlerError")
			if response, err := http.DefaultClient.Do(request); err == nil {
				response.Body.Close()
			}
			continue
		}
		answer, _ := json.Marshal(map[string]any{"echo": event})
		if response, err := http.Post(api+id+"/response", "application/json", bytes.NewReader(answer)); err == nil {
			response.Body.Close()
		}
	}
}
`;

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The python3 on PATH as a Lambda runtime name (python3.11 for Python 3.11), or undefined without one and pip. */
function pythonRuntime(): string | undefined {
  try {
    execFileSync('python3', ['-m', 'pip', '--version'], { stdio: 'ignore' });
    const version = execFileSync('python3', ['-c', 'import sys; print(sys.version_info[1])'], { encoding: 'utf8' });
    return `python3.${version.trim()}`;
  } catch {
    return undefined;
  }
}

/** Thrown (and the test skipped) when pip could not install awslambdaric: the network is not ours. */
class OfflineError extends Error {}

type FunctionKind = 'node' | 'stream' | 'python' | 'provided';

interface Answer {
  status: string;
  errorType?: string | undefined;
  errorMessage?: string | undefined;
  payload?: string | undefined;
}

interface DevRun {
  report: EmulatorReport;
  stderr: string;
  /** The answers, keyed by what the event asked for: ok, fail, sleep (or stream). */
  answers: Map<string, Answer>;
  /** The proxy's debug lines about invocations ("msg":"invocation"). */
  proxied: Record<string, unknown>[];
}

/** Keys an invoke by its answer, since under Managed Instances invokes finish in any order. */
function answerKey(answer: Answer): string {
  if (answer.status === 'timeout') return 'sleep';
  if (answer.status === 'error') return 'fail';
  return 'ok';
}

const baselines = new Map<string, Promise<DevRun>>();

/**
 * Runs the packed layer with one function. `proxy` names the extension and its settings' prefix; with
 * `wrapper`, the function goes through its wrapper (else it talks to the emulator directly, the proxy idle).
 */
async function dev(options: {
  ext: string;
  layer: string;
  kind: FunctionKind;
  managed: boolean;
  proxy: { name: string; prefix: string };
  wrapper: boolean;
  cwd: string;
}): Promise<DevRun> {
  const { kind } = options;
  const python = pythonRuntime();
  const target =
    kind === 'node'
      ? ['--function', path.join(functions, 'node'), '--runtime', 'nodejs22.x']
      : kind === 'stream'
        ? ['--function', path.join(functions, 'node'), '--runtime', 'nodejs22.x', '--handler', 'stream.handler']
        : kind === 'python'
          ? // Managed Instances run python3.13 and later: the machine's older python runs under that name (warned).
            ['--function', path.join(functions, 'python'), '--runtime', options.managed ? 'python3.13' : python!]
          : [
              '--function',
              await providedFunction(options.wrapper ? `${options.proxy.name}-wrapper` : undefined),
              '--runtime',
              'provided.al2023',
            ];
  const args = [
    options.ext,
    'dev',
    '--layer',
    options.layer,
    ...target,
    ...(kind === 'stream' ? ['--invokes', '1'] : ['--event', path.join(functions, 'events.json')]),
    '--timeout',
    String(timeoutSeconds),
    '--json',
    ...(options.managed ? ['--managed-instances'] : []),
  ];
  // A free port each run, wrapper or not: the proxy listens either way, and test files run in parallel.
  args.push(
    '--env',
    `${options.proxy.prefix}PORT=${await freePort()}`,
    '--env',
    `${options.proxy.prefix}LOG_LEVEL=debug`,
  );
  if (options.wrapper) args.push('--env', `AWS_LAMBDA_EXEC_WRAPPER=/opt/${options.proxy.name}-wrapper`);
  const result = await run(process.execPath, args, { cwd: options.cwd, timeoutMs: 180_000 });
  if (result.code !== 0 && result.stderr.includes('E_FUNCTION_RIC_INSTALL_FAILED')) throw new OfflineError();
  let report: EmulatorReport;
  try {
    report = JSON.parse(result.stdout) as EmulatorReport;
  } catch {
    assert.fail(`ext dev printed no JSON report\n${describeRun(result)}`);
  }
  const answers = new Map<string, Answer>();
  for (const invoke of report.invokes) {
    const response = invoke.response as { payload?: string; errorType?: string; errorMessage?: string } | undefined;
    const answer: Answer = {
      status: invoke.status,
      errorType: response?.errorType,
      errorMessage: response?.errorMessage,
      payload: response?.payload,
    };
    answers.set(answerKey(answer), answer);
  }
  const proxied: Record<string, unknown>[] = [];
  const prefix = `[${options.proxy.name}] `;
  for (const entry of report.timeline) {
    if (entry.kind !== 'output' || entry.extension !== options.proxy.name) continue;
    const line = JSON.parse(entry.text.slice(prefix.length)) as Record<string, unknown>;
    if (line['msg'] === 'invocation') proxied.push(line);
  }
  return { report, stderr: result.stderr, answers, proxied };
}

/** What a function answers with no proxy: the same layer, without AWS_LAMBDA_EXEC_WRAPPER (once per function and mode). */
function baseline(options: Omit<Parameters<typeof dev>[0], 'wrapper'>): Promise<DevRun> {
  const key = `${options.kind}:${options.managed}`;
  let found = baselines.get(key);
  if (found === undefined) {
    found = dev({ ...options, wrapper: false });
    baselines.set(key, found);
  }
  return found;
}

/**
 * The parts of an answer that do not depend on the run: a timeout's message and Python's error payload carry the
 * request id, Node's error payload the stack.
 */
function comparable(answer: Answer | undefined): Partial<Answer> | undefined {
  if (answer === undefined) return undefined;
  const { status, errorType, errorMessage, payload } = answer;
  if (status === 'success') return { status, payload };
  if (status === 'timeout') return { status, errorType };
  return { status, errorType, errorMessage };
}

for (const language of ['go', 'ts'] as const) {
  describe(`--template proxy in ${language === 'go' ? 'Go' : 'TypeScript'}, from the packed tarball`, () => {
    const name = `proxy-${language}`;
    const prefix = `PROXY_${language.toUpperCase()}_`;
    let project: string;
    let ext: string;
    let zip: string;

    before(async () => {
      project = path.join(workspace.path, name);
      const iac = language === 'go' ? 'sam' : 'terraform';
      const created = await runCreate([
        project,
        '--lang',
        language,
        '--template',
        'proxy',
        '--ci',
        'github',
        '--iac',
        iac,
        '--yes',
      ]);
      assert.equal(created.code, 0, describeRun(created));
      const install = await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
        cwd: project,
        timeoutMs: 300_000,
      });
      assert.equal(install.code, 0, describeRun(install));
      // The toolkit as installed from the tarball in vendor/, not this checkout.
      ext = path.join(project, 'node_modules', 'create-lambda-extension', 'bin', 'ext.js');
      assert.ok(existsSync(ext), 'the tarball installs the ext bin');
      const packed = await run(process.execPath, [ext, 'pack', '--arch', architecture], {
        cwd: project,
        timeoutMs: 300_000,
      });
      assert.equal(packed.code, 0, describeRun(packed));
      zip = path.join(project, 'dist', `${name}-${architecture}.zip`);
    });

    it('writes the wrapper, the README that explains it, and CI and IaC for the layer', async () => {
      const wrapper = await readFile(path.join(project, 'wrapper.sh'), 'utf8');
      assert.ok(wrapper.includes(`AWS_LAMBDA_RUNTIME_API="127.0.0.1:\${${prefix}PORT:-9009}"`), wrapper);
      assert.match(wrapper, /^exec "\$@"$/m);
      const config = JSON.parse(await readFile(path.join(project, 'lambda-extension.json'), 'utf8')) as Record<
        string,
        unknown
      >;
      assert.equal(config['wrapper'], 'wrapper.sh');
      assert.deepEqual(config['events'], ['SHUTDOWN']);
      const readme = await readFile(path.join(project, 'README.md'), 'utf8');
      assert.ok(readme.includes(`AWS_LAMBDA_EXEC_WRAPPER=/opt/${name}-wrapper`), 'the one variable to set');
      assert.match(readme, /### What happens if the proxy crashes/);
      assert.match(readme, /internal\/lambda\/rie\/run\.go/, 'why RIE does not run the wrapper, with the source');
      assert.match(readme, /## Lambda Managed Instances/);
      assert.doesNotMatch(readme, /\{\{|\}\}/, 'no template syntax left');
      assert.ok(existsSync(path.join(project, '.github', 'workflows', 'test.yml')));
      assert.ok(existsSync(path.join(project, 'infra', language === 'go' ? 'template.yaml' : 'main.tf')));
    });

    if (language === 'go') {
      it('passes its own go vet and go test -race', async () => {
        const vet = await run('go', ['vet', './...'], {
          cwd: project,
          env: { GOTOOLCHAIN: 'local' },
          timeoutMs: 300_000,
        });
        assert.equal(vet.code, 0, describeRun(vet));
        const test = await run('go', ['test', '-race', '-count=1', './...'], {
          cwd: project,
          env: { GOTOOLCHAIN: 'local' },
          timeoutMs: 600_000,
        });
        assert.equal(test.code, 0, describeRun(test));
        assert.match(test.stdout, new RegExp(`^ok\\s+${name}/proxy\\s`, 'm'));
      });
    } else {
      for (const version of lambdaNodeVersions) {
        it(`passes its own npm test on node ${version}`, async (t) => {
          const found = await nodeBinary(version);
          if ('skip' in found) {
            t.skip(found.skip);
            return;
          }
          // Without NODE_TEST_CONTEXT, or the project's node --test would see a nested run and skip every file.
          const env = { ...environmentWith(found.binary), NODE_TEST_CONTEXT: undefined };
          const test = await run('npm', ['test'], { cwd: project, env, timeoutMs: 300_000 });
          assert.equal(test.code, 0, describeRun(test));
          assert.match(test.stdout, /^(?:# |ℹ )fail 0$/m);
          const passed = Number(/^(?:# |ℹ )pass (\d+)$/m.exec(test.stdout)?.[1] ?? 0);
          assert.ok(passed >= 40, `only ${passed} tests ran on node ${version}`);
        });
      }
    }

    it('packs /opt/<name>-wrapper with mode 0755, and ext inspect knows it', async () => {
      const inspected = await run(process.execPath, [ext, 'inspect', zip, '--json'], { cwd: project });
      assert.equal(inspected.code, 0, describeRun(inspected));
      const report = JSON.parse(inspected.stdout) as InspectReport;
      assert.equal(report.ok, true, JSON.stringify(report.findings));
      assert.deepEqual(report.wrappers, [{ path: `${name}-wrapper`, kind: 'script', interpreter: '/bin/sh' }]);
      const listing = await run('unzip', ['-Z', zip]);
      if (listing.code === 0) assert.match(listing.stdout, new RegExp(`^-rwxr-xr-x .* ${name}-wrapper$`, 'm'));
    });

    for (const managed of [false, true]) {
      const mode = managed ? 'Lambda Managed Instances' : 'on demand';
      for (const kind of ['node', 'python', 'provided'] as const) {
        it(`a ${kind} function answers through the proxy as it does without it (${mode})`, async (t) => {
          if (kind === 'python' && pythonRuntime() === undefined) {
            t.skip('no python3 with pip on PATH');
            return;
          }
          const options = { ext, layer: zip, kind, managed, proxy: { name, prefix }, cwd: project };
          let direct: DevRun;
          let proxied: DevRun;
          try {
            [direct, proxied] = await Promise.all([baseline(options), dev({ ...options, wrapper: true })]);
          } catch (error) {
            if (!(error instanceof OfflineError)) throw error;
            t.skip('pip could not install awslambdaric (offline?)');
            return;
          }
          for (const runOf of [direct, proxied]) {
            assert.deepEqual(runOf.report.verdicts, [], 'the extension behaves: no crash, no timeout');
            assert.equal(runOf.report.invokes.length, events.length);
          }
          assert.equal(proxied.answers.get('ok')?.status, 'success');
          assert.equal(proxied.answers.get('ok')?.payload?.replaceAll(' ', ''), '{"echo":{"key":"value"}}');
          assert.equal(proxied.answers.get('fail')?.errorMessage, 'handler failed on purpose');
          assert.equal(proxied.answers.get('sleep')?.status, 'timeout');
          for (const key of ['ok', 'fail', 'sleep']) {
            assert.deepEqual(
              comparable(proxied.answers.get(key)),
              comparable(direct.answers.get(key)),
              `${key}: the same answer as without the proxy`,
            );
          }
          assert.deepEqual(direct.proxied, [], 'without the wrapper nothing goes through the proxy');
          // The success and the handler error went through the proxy. The timeout's answer may too: under Managed
          // Instances the Node client reports the deadline itself, and the emulator keeps its own verdict.
          const kinds = new Set(proxied.proxied.map((line) => line['kind']));
          assert.deepEqual([...kinds].sort(), ['failure', 'success'], JSON.stringify(proxied.proxied));
          if (kind === 'provided') {
            assert.match(proxied.stderr, /AWS_LAMBDA_EXEC_WRAPPER: Lambda starts no wrapper on OS-only runtimes/);
          }
        });
      }
      it(`a streamed response goes through the proxy as a stream (${mode})`, async () => {
        const options = { ext, layer: zip, kind: 'stream' as const, managed, proxy: { name, prefix }, cwd: project };
        const [direct, proxied] = await Promise.all([baseline(options), dev({ ...options, wrapper: true })]);
        assert.equal(proxied.answers.get('ok')?.status, 'success', JSON.stringify(proxied.report.invokes));
        assert.equal(proxied.answers.get('ok')?.payload, 'chunk-1;chunk-2');
        assert.deepEqual(proxied.answers.get('ok'), direct.answers.get('ok'));
        assert.deepEqual(
          proxied.proxied.map((line) => [line['kind'], line['bytes']]),
          [['streamed', 'chunk-1;chunk-2'.length]],
        );
      });
    }
  });
}

import assert from 'node:assert/strict';
import { scaled } from '../helpers/time-scale.js';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { elfMachine, hostArchitecture } from '../../src/core/layer/architectures.js';
import type { EmulatorReport, VerdictKind } from '../../src/core/emulator/index.js';
import { addFile, addNodeExtension, freePort, makeLayer, type FixtureBehaviour } from '../helpers/emulator-fixtures.js';
import { writeTypeScriptProject } from '../helpers/minimal-project.js';
import { extBin, repositoryRoot, run } from '../helpers/run-cli.js';
import {
  fillStandaloneCache,
  standaloneEnvironment,
  standaloneTestNodeVersion,
  unreachableRegistry,
} from '../helpers/standalone-node.js';

const layers: string[] = [];
const children = new Set<ChildProcess>();
after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(layers.map((layer) => rm(layer, { recursive: true, force: true })));
});

async function layerWith(setup: (layer: string) => Promise<unknown>): Promise<string> {
  const layer = await makeLayer();
  layers.push(layer);
  await setup(layer);
  return layer;
}

async function dev(
  layer: string,
  ...flags: string[]
): Promise<{ code: number | null; report: EmulatorReport; stderr: string }> {
  const result = await run(process.execPath, [extBin, 'dev', '--layer', layer, '--json', ...flags], {
    timeoutMs: 30_000,
  });
  let report: EmulatorReport;
  try {
    report = JSON.parse(result.stdout) as EmulatorReport;
  } catch {
    throw new Error(`stdout is not one JSON document:\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
  return { code: result.code, report, stderr: result.stderr };
}

/** A 64-bit ELF header for the other architecture than the host's. */
function foreignElf(): Buffer {
  const header = Buffer.alloc(64);
  header.write('\x7fELF', 0, 'latin1');
  header[4] = 2; // 64-bit
  header[5] = 1; // little-endian
  header[6] = 1;
  header.writeUInt16LE(2, 16); // ET_EXEC
  header.writeUInt16LE(elfMachine(hostArchitecture() === 'arm64' ? 'x86_64' : 'arm64'), 18);
  return header;
}

const node = (behaviour: FixtureBehaviour) => (layer: string) => addNodeExtension(layer, 'fixture', behaviour);

const verdictCases: {
  title: string;
  kind: VerdictKind;
  errorType: string;
  setup: (layer: string) => Promise<unknown>;
  flags?: string[];
}[] = [
  {
    title: 'not executable',
    kind: 'launch-error',
    errorType: 'Extension.LaunchError',
    setup: (layer) => addFile(layer, 'fixture', '#!/bin/sh\nexit 0\n', 0o644),
  },
  {
    title: 'CRLF shebang',
    kind: 'launch-error',
    errorType: 'Extension.LaunchError',
    setup: (layer) => addFile(layer, 'fixture', '#!/bin/sh\r\nexit 0\r\n', 0o755),
  },
  {
    title: 'wrong-architecture ELF',
    kind: 'launch-error',
    errorType: 'Extension.LaunchError',
    setup: (layer) => addFile(layer, 'fixture', foreignElf(), 0o755),
    // A function of this machine's architecture: with qemu installed, the layer's own would run it emulated.
    flags: ['--arch', hostArchitecture() ?? 'x86_64'],
  },
  {
    title: 'missing interpreter',
    kind: 'launch-error',
    errorType: 'Extension.LaunchError',
    setup: (layer) => addFile(layer, 'fixture', '#!/no/such/interpreter\n', 0o755),
  },
  {
    title: 'never registers',
    kind: 'never-registered',
    errorType: 'Sandbox.Timedout',
    setup: node({ neverRegister: true }),
    flags: ['--init-timeout', '800'],
  },
  {
    title: 'name matching no file',
    kind: 'name-mismatch',
    errorType: 'Sandbox.Timedout',
    setup: node({ registerAs: 'other-name', events: ['INVOKE'] }),
    flags: ['--init-timeout', '800'],
  },
  {
    // The 403 InvalidEventType is the extension's to correct; this one never does, so it never registers.
    title: 'invalid event, never corrected',
    kind: 'never-registered',
    errorType: 'Sandbox.Timedout',
    setup: node({ events: ['INVOKE', 'RESTORE'] }),
    flags: ['--init-timeout', '800'],
  },
  {
    title: 'exit 0 before SHUTDOWN',
    kind: 'crash',
    errorType: 'Extension.Crash',
    setup: node({ exitAfterInvokes: 1, exitCode: 0 }),
    flags: ['--invokes', '3'],
  },
  {
    title: 'init/error reported',
    kind: 'init-error',
    errorType: 'Extension.InitError',
    setup: node({ initError: 'Extension.ConfigInvalid' }),
  },
  {
    title: 'exit/error reported',
    kind: 'exit-error',
    errorType: 'Extension.ExitError',
    setup: node({ exitError: 'Extension.Broken' }),
  },
  {
    title: 'no next within the function timeout',
    kind: 'invoke-timeout',
    errorType: 'Sandbox.Timedout',
    setup: node({ hangOnInvoke: true }),
    flags: ['--timeout', '1'],
  },
  {
    title: 'still running at the shutdown deadline',
    kind: 'shutdown-timeout',
    errorType: 'Extension.ShutdownFailed',
    setup: node({ ignoreShutdown: true }),
  },
];

describe('ext dev verdicts', { concurrency: 4 }, () => {
  for (const verdictCase of verdictCases) {
    test(`${verdictCase.title} → ${verdictCase.errorType} (${verdictCase.kind}), non-zero exit`, async () => {
      const layer = await layerWith(verdictCase.setup);
      const { code, report, stderr } = await dev(layer, ...(verdictCase.flags ?? []));
      assert.equal(code, 1, stderr);
      assert.equal(report.status, 'failed');
      assert.equal(report.exitCode, 1);
      const verdict = report.verdicts.find((candidate) => candidate.kind === verdictCase.kind);
      assert.ok(verdict, `no ${verdictCase.kind} verdict in ${JSON.stringify(report.verdicts)}`);
      assert.equal(verdict.errorType, verdictCase.errorType);
      assert.match(stderr, new RegExp(verdictCase.errorType.replace('.', '\\.')));
    });
  }
});

test('a well-behaved extension runs clean for 5 invokes, with a Lambda-like timeline', async () => {
  const layer = await layerWith((dir) => addNodeExtension(dir, 'good-ext', { printOnInvoke: ['working'], workMs: 80 }));
  const result = await run(
    process.execPath,
    [extBin, 'dev', '--layer', layer, '--invokes', '5', '--function-duration', '20', '--function-log', 'hello'],
    {
      timeoutMs: 30_000,
    },
  );
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stdout.split('\n');
  const find = (pattern: RegExp) => lines.filter((line) => pattern.test(line));
  assert.equal(find(/EXTENSION Name: good-ext State: Ready Events: \[INVOKE, SHUTDOWN\]/).length, 1);
  assert.equal(find(/INIT_REPORT Init Duration: [\d.]+ ms/).length, 1);
  assert.equal(find(/START RequestId: [0-9a-f-]{36} Version: \$LATEST/).length, 5);
  assert.equal(find(/END RequestId: /).length, 5);
  const reports = find(
    /REPORT RequestId: .* Duration: [\d.]+ ms Billed Duration: \d+ ms Memory Size: 128 MB Max Memory Used: \d+ MB/,
  );
  assert.equal(reports.length, 5);
  // The extension works 80 ms after a 20 ms handler: that shows up as post-runtime overhead.
  for (const report of reports) {
    const overhead = Number(/PostRuntimeExtensionsDuration: ([\d.]+) ms/.exec(report)?.[1]);
    assert.ok(overhead >= 40, report);
  }
  assert.equal(find(/\[good-ext\] working/).length, 5);
  assert.equal(find(/SHUTDOWN Name: good-ext exited [\d.]+ ms after SHUTDOWN \(code 0\)/).length, 1);
  assert.match(result.stdout, /passed: 5 invoke/);
});

test('a layer zip runs like the directory, and a zip without the exec bit fails with LaunchError', async () => {
  const layer = await layerWith((dir) => addNodeExtension(dir, 'zipped', {}));
  const exec = promisify(execFile);
  const zip = path.join(layer, '..', `${path.basename(layer)}.zip`);
  layers.push(zip);
  await exec('zip', ['-qr', zip, 'extensions'], { cwd: layer });
  const good = await dev(zip);
  assert.equal(good.code, 0, good.stderr);
  assert.equal(good.report.extensions[0]?.state, 'Exited');
  assert.deepEqual(good.report.extensions[0]?.events, ['INVOKE', 'SHUTDOWN']);

  const badLayer = await layerWith((dir) => addNodeExtension(dir, 'zipped', {}));
  const badZip = `${badLayer}-noexec.zip`;
  layers.push(badZip);
  // The classic mistake: zipping an un-chmodded file. The zip keeps 0644, and so does Lambda.
  await chmod(path.join(badLayer, 'extensions', 'zipped'), 0o644);
  await exec('zip', ['-qr', badZip, 'extensions'], { cwd: badLayer });
  const bad = await dev(badZip);
  assert.equal(bad.code, 1);
  assert.equal(bad.report.verdicts[0]?.errorType, 'Extension.LaunchError');
  assert.match(bad.report.verdicts[0]?.message ?? '', /permission denied/);
});

test('library API: runEmulator from the built package, telemetry delivered in order within limits', async () => {
  const { runEmulator } = (await import(
    path.join(repositoryRoot, 'build/src/core/emulator/index.js')
  )) as typeof import('../../src/core/emulator/index.js');
  const telemetryFile = path.join(os.tmpdir(), `ext-dev-telemetry-${process.pid}.jsonl`);
  const port = await freePort();
  const layer = await layerWith(async (dir) => {
    await addNodeExtension(dir, 'listener', {
      events: ['SHUTDOWN'],
      telemetry: {
        port,
        file: telemetryFile,
        types: ['platform', 'function', 'extension'],
        buffering: { maxItems: 1000, maxBytes: 262144, timeoutMs: 25 },
        failForMs: 150,
      },
    });
    await addNodeExtension(dir, 'talker', { printOnInvoke: ['talker says hi'] });
  });
  const timeline: string[] = [];
  try {
    const report = await runEmulator({
      layerDirectory: layer,
      invokes: 3,
      intervalMs: 50,
      function: { durationMs: 30, logLines: ['fn log line'] },
      onTimeline: (entry) => timeline.push(entry.kind),
    });
    assert.equal(report.status, 'passed', JSON.stringify(report.verdicts));
    assert.equal(report.invokes.length, 3);
    assert.ok(timeline.includes('init-report') && timeline.includes('shutdown'));
    const batches = (await readFile(telemetryFile, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; record: Record<string, unknown> | string }[]);
    for (const batch of batches) assert.ok(batch.length <= 1000);
    const records = batches.flat();
    const platform = records.filter((entry) => entry.type.startsWith('platform.')).map((entry) => entry.type);
    const expected = [
      'platform.initStart',
      'platform.initRuntimeDone',
      'platform.extension',
      'platform.extension',
      'platform.initReport',
    ];
    for (let invoke = 0; invoke < 3; invoke += 1)
      expected.push('platform.start', 'platform.runtimeDone', 'platform.report');
    assert.deepEqual(
      platform.filter((type) => type !== 'platform.telemetrySubscription'),
      expected,
    );
    assert.ok(platform.includes('platform.telemetrySubscription'));
    const reports = records
      .filter((entry) => entry.type === 'platform.report')
      .map((entry) => entry.record as { requestId: string; metrics: Record<string, number> });
    assert.deepEqual(
      reports.map((entry) => entry.requestId),
      report.invokes.map((invoke) => invoke.requestId),
    );
    assert.equal(typeof reports[0]!.metrics['initDurationMs'], 'number');
    assert.equal(reports[1]!.metrics['initDurationMs'], undefined);
    for (const key of ['durationMs', 'billedDurationMs', 'memorySizeMB', 'maxMemoryUsedMB'])
      assert.equal(typeof reports[2]!.metrics[key], 'number');
    assert.equal(records.filter((entry) => entry.type === 'function' && entry.record === 'fn log line').length, 3);
    assert.equal(records.filter((entry) => entry.type === 'extension' && entry.record === 'talker says hi').length, 3);
    const subscription = report.telemetry.subscriptions[0]!;
    assert.ok(subscription.failedAttempts > 0, 'the listener answered 503 at first');
    assert.equal(subscription.droppedRecords, 0);
    assert.equal(subscription.pendingRecords, 0);
  } finally {
    await rm(telemetryFile, { force: true });
  }
});

test('a static Go extension (real binary) runs clean', { timeout: scaled(120_000) }, async (context) => {
  const exec = promisify(execFile);
  try {
    await exec('go', ['version']);
  } catch {
    context.skip('go is not installed');
    return;
  }
  const source = await mkdtemp(path.join(os.tmpdir(), 'ext-dev-go-'));
  layers.push(source);
  await writeFile(path.join(source, 'go.mod'), 'module example.com/goext\n\ngo 1.21\n');
  await writeFile(
    path.join(source, 'main.go'),
    `package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
)

func main() {
	base := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2020-01-01/extension"
	request, _ := http.NewRequest("POST", base+"/register", bytes.NewBufferString(\`{"events":["INVOKE","SHUTDOWN"]}\`))
	request.Header.Set("Lambda-Extension-Name", filepath.Base(os.Args[0]))
	response, err := http.DefaultClient.Do(request)
	if err != nil || response.StatusCode != 200 {
		fmt.Println("register failed", err)
		os.Exit(1)
	}
	id := response.Header.Get("Lambda-Extension-Identifier")
	for {
		next, _ := http.NewRequest("GET", base+"/event/next", nil)
		next.Header.Set("Lambda-Extension-Identifier", id)
		answer, err := http.DefaultClient.Do(next)
		if err != nil {
			os.Exit(1)
		}
		var event struct{ EventType string \`json:"eventType"\` }
		json.NewDecoder(answer.Body).Decode(&event)
		answer.Body.Close()
		fmt.Println("go got", event.EventType)
		if event.EventType == "SHUTDOWN" {
			return
		}
	}
}
`,
  );
  const layer = await makeLayer();
  layers.push(layer);
  await mkdir(path.join(layer, 'extensions'), { recursive: true });
  await exec('go', ['build', '-trimpath', '-o', path.join(layer, 'extensions', 'go-ext'), '.'], {
    cwd: source,
    env: { ...process.env, CGO_ENABLED: '0', GOOS: 'linux', GOFLAGS: '-mod=mod' },
  });
  const { code, report, stderr } = await dev(layer, '--invokes', '5');
  assert.equal(code, 0, stderr);
  assert.equal(report.invokes.length, 5);
  assert.equal(report.timeline.filter((entry) => entry.text === '[go-ext] go got INVOKE').length, 5);
  assert.ok(report.timeline.some((entry) => entry.text === '[go-ext] go got SHUTDOWN'));
  assert.equal(report.shutdown?.extensions[0]?.outcome, 'exited');
});

test('library API: a function timeout resets the environment (SHUTDOWN "timeout", then a fresh Init)', async () => {
  const { Emulator } = (await import(
    path.join(repositoryRoot, 'build/src/core/emulator/index.js')
  )) as typeof import('../../src/core/emulator/index.js');
  const eventsFile = path.join(os.tmpdir(), `ext-dev-events-${process.pid}.jsonl`);
  const layer = await layerWith((dir) => addNodeExtension(dir, 'recorder', { eventsFile, acceptAccountId: true }));
  const emulator = new Emulator({ layerDirectory: layer, function: { durationMs: 10, timeoutSeconds: 1 } });
  try {
    assert.equal((await emulator.start()).status, 'success');
    const timedOut = await emulator.invoke({ durationMs: 1200 });
    assert.equal(timedOut.status, 'timeout');
    const next = await emulator.invoke();
    assert.equal(next.status, 'success');
    assert.equal(typeof next.initDurationMs, 'number', 'the first invoke after a reset reports the new Init');
    const shutdown = await emulator.shutdown();
    assert.equal(shutdown.reason, 'spindown');
    const events = (await readFile(eventsFile, 'utf8'))
      .trim()
      .split('\n')
      .map(
        (line) =>
          JSON.parse(line) as {
            event: Record<string, unknown>;
            eventIdentifier: string;
            registerBody: Record<string, unknown>;
          },
      );
    assert.deepEqual(
      events.map(({ event }) => [event['eventType'], event['shutdownReason']]),
      [
        ['INVOKE', undefined],
        ['SHUTDOWN', 'timeout'],
        ['INVOKE', undefined],
        ['SHUTDOWN', 'spindown'],
      ],
    );
    assert.equal(events[0]!.registerBody['accountId'], '123456789012');
    assert.match(events[0]!.eventIdentifier, /^[0-9a-f-]{36}$/);
    assert.equal(emulator.report().status, 'passed');
    assert.equal(emulator.report().inits.length, 2);
  } finally {
    await emulator.close();
    await rm(eventsFile, { force: true });
  }
});

/** `ext dev` running in the background, its output readable while it runs. */
interface LiveDev {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves once the condition holds (checked on each output chunk and every 50 ms). */
  until: (condition: () => boolean | Promise<boolean>, what: string, timeoutMs?: number) => Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startDev(args: string[], cwd = repositoryRoot): LiveDev {
  const child = spawn(process.execPath, [extBin, 'dev', ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  const until = async (condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) => {
    const deadline = Date.now() + scaled(timeoutMs);
    while (!(await condition())) {
      if (Date.now() > deadline || child.exitCode !== null) {
        throw new Error(`timed out waiting for ${what}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  return { child, stdout: () => stdout, stderr: () => stderr, until, exited };
}

const count = (text: string, pattern: RegExp) => text.match(new RegExp(pattern.source, 'g'))?.length ?? 0;

test('--watch re-reads the layer after in-place writes and atomic saves (temp file + rename); Ctrl-C exits 130', async () => {
  const layer = await layerWith((dir) => addNodeExtension(dir, 'watched', { printOnInvoke: ['version 1'] }));
  const file = path.join(layer, 'extensions', 'watched');
  const dev = startDev(['--watch', '--layer', layer, '--function-duration', '1']);
  const runs = () => count(dev.stdout(), /passed: 1 invoke/);
  const ranVersion = async (version: number) => {
    await dev.until(
      () => runs() >= version && dev.stdout().includes(`[watched] version ${version}`),
      `run ${version} with version ${version}`,
    );
  };
  await ranVersion(1);

  await addNodeExtension(layer, 'watched', { printOnInvoke: ['version 2'] });
  await ranVersion(2);

  // What vim, sed -i and most editors do: write a temp file, rename it over the original (a new inode).
  for (const version of [3, 4]) {
    const temporary = path.join(layer, 'extensions', `.watched.${version}.new`);
    await writeFile(temporary, (await readFile(file, 'utf8')).replace(/version \d/, `version ${version}`), {
      mode: 0o755,
    });
    await rename(temporary, file);
    await ranVersion(version);
  }
  // The file now has a new inode: an in-place write must still be seen (Node 20's recursive fs.watch misses it).
  await addNodeExtension(layer, 'watched', { printOnInvoke: ['version 5'] });
  await ranVersion(5);
  assert.equal(runs(), 5, `one restart per change:\n${dev.stdout()}`);
  assert.equal(count(dev.stdout(), /INIT_START/), 5);

  dev.child.kill('SIGINT');
  const { code } = await dev.exited;
  assert.equal(code, 130, dev.stderr());
  assert.doesNotMatch(dev.stderr(), /internal error/);
  assert.match(dev.stderr(), /cancelled/i);
});

test('--watch: a type error is reported with its file:line:col, and watching goes on to the fixed source', async () => {
  const project = await mkdtemp(path.join(os.tmpdir(), 'ext-dev-typed-'));
  layers.push(project);
  await writeTypeScriptProject(project, 'console.log("run 1");\n', 'typed-ext');
  await writeFile(
    path.join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: 'nodenext', types: [] },
      include: ['src'],
    }),
  );
  // typescript as npm install gives it to a project.
  await symlink(path.join(repositoryRoot, 'node_modules'), path.join(project, 'node_modules'));
  const entry = path.join(project, 'src', 'index.ts');
  const dev = startDev(['--watch', '--function-duration', '1'], project);
  const reports = () => count(dev.stdout(), /(?:passed|failed): /);
  await dev.until(() => dev.stdout().includes('run 1') && reports() >= 1, 'the first run', 120_000);
  await writeFile(entry, 'const count: number = "two";\nconsole.log(count);\n');
  await dev.until(() => /type check failed/.test(dev.stderr()), 'the type error', 120_000);
  assert.match(dev.stderr(), /^src\/index\.ts:1:7 - error TS2322: /m);
  await writeFile(entry, 'console.log("run 2");\n');
  await dev.until(() => dev.stdout().includes('run 2') && reports() >= 2, 'the run after the fix', 120_000);
  assert.equal(dev.child.exitCode, null, 'still watching');
  dev.child.kill('SIGINT');
  assert.equal((await dev.exited).code, 130, dev.stderr());
});

describe("a TypeScript project runs on its runtime's node, for its architecture", async () => {
  const availability = await fillStandaloneCache();
  const skip = 'skip' in availability ? availability.skip : false;
  // The exact version the shared test cache holds: nothing is asked of the registry.
  const environment = { ...standaloneEnvironment(), ...unreachableRegistry };
  const project = async (architectures: string[]) => {
    const directory = await mkdtemp(path.join(os.tmpdir(), 'ext-dev-node-'));
    layers.push(directory);
    await writeTypeScriptProject(directory, 'console.log(`ran on ${process.version} ${process.arch}`);\n', 'node-ext');
    const configFile = path.join(directory, 'lambda-extension.json');
    const config = JSON.parse(await readFile(configFile, 'utf8')) as Record<string, unknown>;
    await writeFile(configFile, JSON.stringify({ ...config, architectures, nodeVersion: standaloneTestNodeVersion }));
    return directory;
  };

  test('"nodeVersion", not the node running ext: the timeline and the report name it', { skip }, async () => {
    const directory = await project(['x86_64', 'arm64']);
    const result = await run(process.execPath, [extBin, 'dev', '--cwd', directory], {
      env: environment,
      timeoutMs: 60_000,
    });
    assert.match(
      result.stdout,
      new RegExp(
        `NODE v${standaloneTestNodeVersion.replace(/\./g, '\\.')} \\S+ runs the extensions: the project's runtime`,
      ),
    );
    assert.match(
      result.stdout,
      new RegExp(`\\[node-ext\\] ran on v${standaloneTestNodeVersion.replace(/\./g, '\\.')} `),
    );
    const json = await run(process.execPath, [extBin, 'dev', '--cwd', directory, '--json'], {
      env: environment,
      timeoutMs: 60_000,
    });
    const report = JSON.parse(json.stdout) as EmulatorReport;
    assert.equal(report.node?.version, standaloneTestNodeVersion);
    assert.equal(report.node?.source, 'project');
    assert.equal(report.node?.architecture, hostArchitecture());

    const given = await run(
      process.execPath,
      [extBin, 'dev', '--cwd', directory, '--json', '--node', process.execPath],
      {
        env: environment,
        timeoutMs: 60_000,
      },
    );
    const overridden = JSON.parse(given.stdout) as EmulatorReport;
    assert.equal(overridden.node?.source, 'option');
    assert.equal(overridden.node?.version, process.version.slice(1));
    assert.ok(JSON.stringify(overridden.timeline).includes(`ran on ${process.version} `));

    const missing = await run(process.execPath, [extBin, 'dev', '--cwd', directory, '--node', '/no/such/node'], {
      env: environment,
    });
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /^error\[E_\w+\]: --node: \/no\/such\/node is not an executable file/m);
  });

  test(
    "a project for the other architecture only is built and run as that architecture, never silently as this machine's",
    { skip },
    async () => {
      const host = hostArchitecture()!;
      const other = host === 'x86_64' ? 'arm64' : 'x86_64';
      const directory = await project([other]);
      const result = await run(process.execPath, [extBin, 'dev', '--cwd', directory, '--json'], {
        env: environment,
        timeoutMs: 300_000,
      });
      if (result.code === 0 || JSON.parse(result.stdout || '{}').status !== undefined) {
        // qemu (or binfmt) is here: the node of the project's architecture ran, under emulation.
        const report = JSON.parse(result.stdout) as EmulatorReport;
        assert.equal(report.node?.architecture, other);
        assert.equal(report.cpuEmulation?.architecture, other);
        assert.ok(
          JSON.stringify(report.timeline).includes(
            `ran on v${standaloneTestNodeVersion} ${other === 'arm64' ? 'arm64' : 'x64'}`,
          ),
        );
      } else {
        // No qemu here (or no ${other} glibc for its dynamic node): one error that says so, never a native run.
        assert.equal(result.code, 1, result.stderr);
        assert.match(result.stderr, new RegExp(`^error\\[E_\\w+\\]: .*${other}`, 'm'));
        assert.match(result.stderr, new RegExp(`or pass --arch ${host} to build and run it for this machine`));
        assert.doesNotMatch(result.stdout + result.stderr, /ran on v/);
      }
      const native = await run(process.execPath, [extBin, 'dev', '--cwd', directory, '--json', '--arch', host], {
        env: environment,
        timeoutMs: 60_000,
      });
      assert.equal((JSON.parse(native.stdout) as EmulatorReport).node?.architecture, host, native.stderr);
    },
  );
});

test('Ctrl-C: the current invoke is cut short, a clean Shutdown runs, exit 130, the JSON report says interrupted', async () => {
  const eventsFile = path.join(os.tmpdir(), `ext-dev-interrupt-${process.pid}.jsonl`);
  layers.push(eventsFile);
  const layer = await layerWith((dir) => addNodeExtension(dir, 'recorder', { eventsFile }));
  const dev = startDev(['--layer', layer, '--invokes', '1000', '--function-duration', '20', '--json']);
  const received = async () =>
    (await readFile(eventsFile, 'utf8').catch(() => ''))
      .trim()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => (JSON.parse(line) as { event: Record<string, unknown> }).event);
  await dev.until(async () => (await received()).length >= 2, 'two INVOKE events');
  dev.child.kill('SIGINT');
  const { code } = await dev.exited;
  assert.equal(code, 130, dev.stderr());
  const report = JSON.parse(dev.stdout()) as EmulatorReport;
  assert.equal(report.interrupted, true);
  assert.equal(report.status, 'interrupted');
  assert.equal(report.exitCode, 130);
  assert.deepEqual(report.verdicts, []);
  assert.ok(report.invokes.length >= 2 && report.invokes.length < 1000, `${report.invokes.length} invokes`);
  // Every invoke but the one the interrupt cut short completed.
  for (const invoke of report.invokes.slice(0, -1)) assert.equal(invoke.status, 'success');
  assert.match(report.invokes.at(-1)!.status, /^(success|interrupted)$/u);
  assert.equal(report.shutdown?.extensions[0]?.outcome, 'exited', 'the extension got SHUTDOWN and exited');
  const events = await received();
  assert.deepEqual(events.at(-1), { ...events.at(-1), eventType: 'SHUTDOWN', shutdownReason: 'spindown' });
  assert.equal(events.filter((event) => event['eventType'] === 'INVOKE').length, report.invokes.length);
});

test('a subscriber whose listener is down gets SHUTDOWN at once, and its exit time is measured from SHUTDOWN', async () => {
  const port = await freePort();
  const telemetryFile = path.join(os.tmpdir(), `ext-dev-down-${process.pid}.jsonl`);
  layers.push(telemetryFile);
  const layer = await layerWith((dir) =>
    addNodeExtension(dir, 'subscriber', {
      telemetry: { port, file: telemetryFile, types: ['platform', 'function'], listenAfterMs: 60_000 },
    }),
  );
  const { code, report, stderr } = await dev(layer, '--function-log', 'hello');
  assert.equal(code, 0, stderr);
  const shutdown = report.shutdown!;
  const subscriber = shutdown.extensions.find((extension) => extension.name === 'subscriber')!;
  assert.equal(subscriber.outcome, 'exited');
  // The fixture exits as soon as it sees SHUTDOWN: its exit time is node's exit, not the telemetry retries.
  assert.ok(subscriber.exitMs! < scaled(400), `exited ${subscriber.exitMs} ms after SHUTDOWN`);
  assert.ok(
    shutdown.telemetryFlushMs >= 150 && shutdown.telemetryFlushMs < scaled(500),
    `${shutdown.telemetryFlushMs} ms`,
  );
  assert.ok(shutdown.durationMs < scaled(1000), `Shutdown took ${shutdown.durationMs} ms`);
  const texts = report.timeline.map((entry) => entry.text);
  assert.ok(
    texts.some((text) => /SHUTDOWN sent anyway/.test(text)),
    texts.join('\n'),
  );
  assert.ok(texts.some((text) => /record\(s\) never delivered/.test(text)));
  assert.ok(report.telemetry.subscriptions[0]!.pendingRecords > 0);
});

test('a refused register during Init (internal extension asking for SHUTDOWN) is a note: the extension goes on and the run passes', async () => {
  const layer = await layerWith((dir) =>
    addNodeExtension(dir, 'with-sidecar', {
      registerInternalFirst: { name: 'sidecar', events: ['INVOKE', 'SHUTDOWN'] },
    }),
  );
  const result = await run(process.execPath, [extBin, 'dev', '--layer', layer, '--invokes', '3'], {
    timeoutMs: 30_000,
  });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /register refused \(403 Extension\.InvalidEventType\)/);
  assert.doesNotMatch(result.stdout, /VERDICT/);
  assert.match(result.stdout, /INIT_REPORT Init Duration: [\d.]+ ms Phase: init Status: success/);
});

test('--function-error: status error in runtimeDone and REPORT, the environment is kept (no reset), exit 0', async () => {
  const eventsFile = path.join(os.tmpdir(), `ext-dev-function-error-${process.pid}.jsonl`);
  layers.push(eventsFile);
  const layer = await layerWith((dir) => addNodeExtension(dir, 'recorder', { eventsFile }));
  const { code, report, stderr } = await dev(layer, '--function-error', '--invokes', '2', '--function-duration', '5');
  assert.equal(code, 0, `a function error is the function's fault, not the extension's: ${stderr}`);
  assert.equal(report.status, 'passed');
  assert.deepEqual(
    report.invokes.map((invoke) => invoke.status),
    ['error', 'error'],
  );
  const runtimeDone = report.timeline.filter((entry) => entry.kind === 'runtime-done');
  assert.deepEqual(
    runtimeDone.map((entry) => entry.data?.['status']),
    ['error', 'error'],
  );
  assert.equal(report.timeline.filter((entry) => /^REPORT .* Status: error$/.test(entry.text)).length, 2);
  // docs/reference/extensions-api.md §3.3: only a timeout or a runtime crash resets; a returned error keeps the environment.
  assert.equal(report.inits.length, 1);
  const events = (await readFile(eventsFile, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as { event: Record<string, unknown> }).event);
  assert.deepEqual(
    events.map((event) => [event['eventType'], event['shutdownReason']]),
    [
      ['INVOKE', undefined],
      ['INVOKE', undefined],
      ['SHUTDOWN', 'spindown'],
    ],
  );
});

test('--interval spaces the invokes and --function-duration bounds REPORT Duration from below', async () => {
  const layer = await layerWith((dir) => addNodeExtension(dir, 'timed', {}));
  const { code, report, stderr } = await dev(
    layer,
    '--invokes',
    '3',
    '--interval',
    '250',
    '--function-duration',
    '150',
  );
  assert.equal(code, 0, stderr);
  for (const invoke of report.invokes) {
    assert.ok(invoke.runtimeDurationMs >= 150, `runtime ${invoke.runtimeDurationMs} ms`);
    assert.ok(invoke.durationMs >= 150, `REPORT Duration ${invoke.durationMs} ms`);
  }
  const starts = report.timeline.filter((entry) => entry.kind === 'start').map((entry) => entry.elapsedMs);
  const ends = report.timeline.filter((entry) => entry.kind === 'report').map((entry) => entry.elapsedMs);
  assert.equal(starts.length, 3);
  for (let index = 1; index < 3; index += 1) {
    assert.ok(
      starts[index]! - ends[index - 1]! >= 250,
      `pause before invoke ${index + 1}: ${starts[index]! - ends[index - 1]!} ms`,
    );
  }
});

test('--managed-instances --concurrency: SHUTDOWN-only extension, concurrent invokes, the mode in the report; bad --concurrency exits 2', async () => {
  const environmentFile = path.join(os.tmpdir(), `ext-dev-lmi-env-${process.pid}.json`);
  layers.push(environmentFile);
  const layer = await layerWith((dir) => addNodeExtension(dir, 'timer', { events: ['SHUTDOWN'], environmentFile }));
  const flags = ['--managed-instances', '--concurrency', '3', '--invokes', '6', '--function-duration', '200'];
  const { code, report, stderr } = await dev(layer, ...flags);
  assert.equal(code, 0, stderr);
  assert.equal(report.computeMode, 'managed-instances');
  assert.equal(report.maxConcurrency, 3);
  assert.equal(report.invokes.length, 6);
  assert.ok(report.maxInFlight > 1 && report.maxInFlight <= 3, `max in flight ${report.maxInFlight}`);
  assert.equal(report.freeze, undefined, 'Managed Instances are never frozen');
  assert.ok(!report.timeline.some((entry) => entry.kind === 'freeze'));
  const environment = JSON.parse(await readFile(environmentFile, 'utf8')) as Record<string, string>;
  assert.equal(environment['AWS_LAMBDA_MAX_CONCURRENCY'], '3');

  const text = await run(process.execPath, [extBin, 'dev', '--layer', layer, ...flags]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /passed: 6 invoke\(s\) on Managed Instances \(at most [23] of 3 in flight\)/);
  assert.match(text.stdout, /START RequestId: \S+ Version: \$LATEST Concurrency: [1-3]\/3/);

  for (const bad of [
    ['--managed-instances', '--concurrency', '65'],
    ['--managed-instances', '--concurrency', '0'],
    ['--managed-instances', '--concurrency', 'many'],
  ]) {
    const refused = await run(process.execPath, [extBin, 'dev', '--layer', layer, ...bad]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, new RegExp(`--concurrency: expected a whole number from 1 to 64, got "${bad[2]!}"`));
  }
  const alone = await run(process.execPath, [extBin, 'dev', '--layer', layer, '--concurrency', '2']);
  assert.equal(alone.code, 2, alone.stderr);
  assert.match(alone.stderr, /--concurrency: applies to Lambda Managed Instances only/);
});

test('flag and build messages: the user input echoed, no progress off a terminal, a hint that fits ext dev', async () => {
  const invalid = await run(process.execPath, [extBin, 'dev', '--invokes', 'abc']);
  assert.equal(invalid.code, 2);
  assert.match(invalid.stderr, /--invokes: expected a whole number >= 1, got "abc"/);
  const fraction = await run(process.execPath, [extBin, 'dev', '--memory', '200.5', '--interval', '10']);
  assert.equal(fraction.code, 2);
  assert.match(fraction.stderr, /--memory: expected a whole number from 128 to 10240 \(Lambda's range\), got "200.5"/);

  const project = await mkdtemp(path.join(os.tmpdir(), 'ext-dev-broken-'));
  layers.push(project);
  await writeTypeScriptProject(project, 'const = ;\n', 'broken-ext');
  const broken = await run(process.execPath, [extBin, 'dev', '--cwd', project, '--json'], { timeoutMs: 30_000 });
  assert.equal(broken.code, 1, broken.stderr);
  // --json: the failure as an error document on stdout, nothing else there (no report, no progress).
  assert.equal((JSON.parse(broken.stdout) as { error: { exitCode: number } }).error.exitCode, 1);
  assert.doesNotMatch(broken.stderr, /building/, 'no progress off a terminal');
  assert.match(broken.stderr, /error\[E_\w+\]: bundling src\/index\.ts failed/);
  assert.match(broken.stderr, /hint: fix the error above, then rerun ext dev/);
  assert.doesNotMatch(broken.stderr, /ext build again/);
});

test('library API: a layer path relative to the working directory works', async () => {
  const { runEmulator } = (await import(
    path.join(repositoryRoot, 'build/src/core/emulator/index.js')
  )) as typeof import('../../src/core/emulator/index.js');
  const layer = await layerWith((dir) => addNodeExtension(dir, 'relative', {}));
  const report = await runEmulator({ layerDirectory: path.relative(process.cwd(), layer), invokes: 1 });
  assert.equal(report.status, 'passed', JSON.stringify(report.verdicts));
  assert.equal(report.extensions[0]?.exitCode, 0);
});

test('no extension to run is a failure naming the path given, never a pass', { timeout: scaled(30_000) }, async () => {
  const noFolder = await mkdtemp(path.join(os.tmpdir(), 'ext-dev-empty-'));
  layers.push(noFolder);
  const missing = await run(process.execPath, [extBin, 'dev', '--layer', noFolder, '--json'], { timeoutMs: 20_000 });
  assert.equal(missing.code, 1, missing.stdout);
  assert.doesNotMatch(missing.stdout, /passed/);
  assert.equal((JSON.parse(missing.stdout) as { error: { code: string } }).error.code, 'E_LAYER_NO_EXTENSIONS');
  assert.match(missing.stderr, new RegExp(`^error\\[E_LAYER_NO_EXTENSIONS\\]: --layer: ${noFolder}`, 'm'));

  const emptyFolder = await layerWith(async () => {});
  const empty = await run(process.execPath, [extBin, 'dev', '--layer', emptyFolder, '--json'], { timeoutMs: 20_000 });
  assert.equal(empty.code, 1, empty.stdout);
  const emptyError = (JSON.parse(empty.stdout) as { error: { exitCode: number; code: string } }).error;
  assert.equal(emptyError.exitCode, 1);
  assert.equal(emptyError.code, 'E_LAYER_NO_EXTENSIONS');
  assert.match(empty.stderr, new RegExp(`^error\\[E_LAYER_NO_EXTENSIONS\\]: --layer: ${emptyFolder}`, 'm'));

  const { runEmulator } = (await import(
    path.join(repositoryRoot, 'build/src/core/emulator/index.js')
  )) as typeof import('../../src/core/emulator/index.js');
  const nowhere = path.join(noFolder, 'does-not-exist');
  await assert.rejects(runEmulator({ layerDirectory: nowhere }), {
    name: 'CliError',
    message: `layer directory ${nowhere} does not exist`,
  });
  await assert.rejects(runEmulator({ layerDirectory: emptyFolder }), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'E_LAYER_NO_EXTENSIONS');
    assert.ok(error.message.includes(emptyFolder), error.message);
    return true;
  });
});

/** An extension whose timer, set at each INVOKE to fire 600 ms later, prints a line: it shows whether it ran between invokes. */
const timerExtension = `#!/usr/bin/env node
const http = require('node:http');
const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
const call = (method, route, headers, body) => new Promise((resolve, reject) => {
  const request = http.request({ host, port, path: route, method, headers }, (response) => {
    let text = '';
    response.on('data', (chunk) => (text += chunk));
    response.on('end', () => resolve({ headers: response.headers, body: text }));
  });
  request.on('error', reject);
  request.end(body);
});
(async () => {
  const registered = await call('POST', '/2020-01-01/extension/register', { 'Lambda-Extension-Name': 'ticker' }, JSON.stringify({ events: ['INVOKE', 'SHUTDOWN'] }));
  const id = registered.headers['lambda-extension-identifier'];
  for (let invoke = 1; ; invoke += 1) {
    const event = JSON.parse((await call('GET', '/2020-01-01/extension/event/next', { 'Lambda-Extension-Identifier': id })).body);
    if (event.eventType === 'SHUTDOWN') process.exit(0);
    setTimeout(() => console.log('timer of invoke ' + invoke), 600);
  }
})();
`;

test('on demand the environment is frozen between invokes (timers stop), not with --no-freeze nor on Managed Instances', async () => {
  const layer = await layerWith((dir) => addFile(dir, 'ticker', timerExtension, 0o755));
  const timerAndSecondStart = (report: EmulatorReport) => {
    const timer = report.timeline.findIndex((entry) => entry.kind === 'output' && /timer of invoke 1/.test(entry.text));
    const starts = report.timeline.flatMap((entry, index) => (entry.kind === 'start' ? [index] : []));
    return { timer, secondStart: starts[1]! };
  };
  // Frozen 3 s after invoke 1: its 600 ms timer cannot fire before the thaw, which comes right before invoke 2.
  const frozen = await dev(layer, '--invokes', '2', '--function-duration', '0', '--freeze-ms', '3000');
  assert.equal(frozen.code, 0, frozen.stderr);
  assert.deepEqual(frozen.report.freeze, { minimumMs: 3000, gaps: 1 });
  assert.ok(frozen.report.timeline.some((entry) => entry.kind === 'freeze' && /^FREEZE /.test(entry.text)));
  const whenFrozen = timerAndSecondStart(frozen.report);
  assert.ok(whenFrozen.timer > whenFrozen.secondStart, 'the timer fired only after the thaw');
  // The same gap without the freeze: the timer fires in it.
  const free = await dev(layer, '--invokes', '2', '--function-duration', '0', '--interval', '3000', '--no-freeze');
  assert.equal(free.code, 0, free.stderr);
  assert.equal(free.report.freeze, undefined);
  assert.ok(!free.report.timeline.some((entry) => entry.kind === 'freeze'));
  const whenFree = timerAndSecondStart(free.report);
  assert.ok(whenFree.timer !== -1 && whenFree.timer < whenFree.secondStart, 'the timer fired between the invokes');

  for (const [flags, message] of [
    [['--managed-instances', '--freeze-ms', '100'], /--freeze-ms: Managed Instances are never frozen/],
    [['--no-freeze', '--freeze-ms', '100'], /--freeze-ms: contradicts --no-freeze/],
    [['--freeze-ms', 'long'], /--freeze-ms: expected a number/],
  ] as const) {
    const refused = await run(process.execPath, [extBin, 'dev', '--layer', layer, ...flags]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, message);
  }
});

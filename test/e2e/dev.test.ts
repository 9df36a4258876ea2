import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { elfMachine, hostArchitecture } from '../../src/core/architectures.js';
import type { EmulatorReport, VerdictKind } from '../../src/core/emulator/index.js';
import { addFile, addNodeExtension, freePort, makeLayer, type FixtureBehaviour } from '../helpers/emulator-fixtures.js';
import { extBin, repositoryRoot, run } from '../helpers/run-cli.js';

const layers: string[] = [];
after(async () => {
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
    title: 'invalid event',
    kind: 'invalid-event-type',
    errorType: 'Extension.InvalidEventType',
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
  assert.equal(find(/SHUTDOWN Name: good-ext exited after [\d.]+ ms/).length, 1);
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

test('a static Go extension (real binary) runs clean', { timeout: 120_000 }, async (context) => {
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

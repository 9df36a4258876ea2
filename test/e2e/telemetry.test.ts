import assert from 'node:assert/strict';
import { scaled, timeScale } from '../helpers/time-scale.js';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { EmulatorReport } from '../../src/core/emulator/index.js';
import { createAndBuild, describeRun, runExt } from '../helpers/run-cli.js';
import { deadSinkUrl, startTelemetrySink, type ShippedRecord } from '../helpers/telemetry-sink.js';

/**
 * Both telemetry templates (Go and TypeScript share their settings, log
 * fields and behaviour), built for this machine and run under `ext dev` with
 * real Telemetry API delivery, against healthy, dead and hanging destinations
 * and with the stdout sink.
 */

interface ExtensionOutput {
  /** The extension's log lines. */
  logs: Record<string, unknown>[];
  /** Records the stdout sink printed. */
  shipped: (ShippedRecord & { extension: string })[];
}

const timeoutMs = 1000;
const levelOf = (line: Record<string, unknown>): string => String(line['level']).toLowerCase();
const requestIdOf = (record: ShippedRecord): string => (record.record as { requestId: string }).requestId;

for (const language of ['go', 'ts'] as const) {
  describe(`${language === 'go' ? 'Go' : 'TypeScript'} telemetry template under ext dev`, () => {
    const name = `tel-${language}`;
    const prefix = `TEL_${language.toUpperCase()}_`;
    let workspace: { path: string; cleanup: () => Promise<void> };
    let layer: string;
    let project: string;

    before(async () => {
      ({ workspace, project, layer } = await createAndBuild(name, ['--lang', language, '--template', 'telemetry']));
    });
    after(async () => workspace?.cleanup());

    async function dev(
      options: { invokes: number; intervalMs?: number; logLines?: string[]; functionEnv?: Record<string, string> },
      env: Record<string, string | number>,
    ): Promise<{ report: EmulatorReport; output: ExtensionOutput }> {
      const args = [
        ...['--invokes', `${options.invokes}`, '--interval', `${options.intervalMs ?? 0}`],
        ...['--function-duration', '2', '--timeout', `${timeoutMs / 1000}`],
        ...(options.logLines ?? []).flatMap((line) => ['--function-log', line]),
        // Port 0: a free port, so test files running in parallel never collide.
        ...Object.entries({ PORT: 0, ...env }).flatMap(([key, value]) => ['--env', `${prefix}${key}=${value}`]),
        ...Object.entries(options.functionEnv ?? {}).flatMap(([key, value]) => ['--env', `${key}=${value}`]),
      ];
      const result = await runExt(['dev', '--layer', layer, '--json', ...args], { timeoutMs: 60_000 });
      let report: EmulatorReport;
      try {
        report = JSON.parse(result.stdout) as EmulatorReport;
      } catch {
        assert.fail(`ext dev printed no JSON report\n${describeRun(result)}`);
      }
      const output: ExtensionOutput = { logs: [], shipped: [] };
      for (const entry of report.timeline) {
        if (entry.kind !== 'output' || entry.extension !== name) continue;
        const line = JSON.parse(entry.text.slice(`[${name}] `.length)) as Record<string, unknown>;
        assert.equal(line['extension'], name, `every line carries the extension's name: ${entry.text}`);
        if ('type' in line && 'record' in line)
          output.shipped.push(line as unknown as ExtensionOutput['shipped'][number]);
        else output.logs.push(line);
      }
      return { report, output };
    }

    function logLine(output: ExtensionOutput, msg: string): Record<string, unknown> {
      const found = output.logs.find((line) => line['msg'] === msg);
      assert.ok(found, `no "${msg}" line in ${JSON.stringify(output.logs.map((line) => line['msg']))}`);
      return found;
    }

    /** The guarantees that hold whatever the destination does. */
    function assertWellBehaved(report: EmulatorReport, invokes: number): void {
      assert.deepEqual(report.verdicts, [], 'no crash, no invoke timeout, no shutdown timeout');
      assert.equal(report.status, 'passed');
      assert.equal(report.invokes.length, invokes, 'the extension stayed up for every invoke');
      for (const invoke of report.invokes) {
        assert.equal(invoke.status, 'success', `invoke ${invoke.requestId}`);
        assert.ok(invoke.durationMs < timeoutMs, `invoke took ${invoke.durationMs} ms with a ${timeoutMs} ms timeout`);
      }
      const shutdown = report.shutdown?.extensions.find((extension) => extension.name === name);
      assert.equal(shutdown?.outcome, 'exited', 'exited on SHUTDOWN, not killed');
      assert.equal(shutdown?.exitCode, 0);
      assert.ok(
        (shutdown?.exitMs ?? Infinity) < scaled(2000),
        `exited ${shutdown?.exitMs} ms after SHUTDOWN, budget 2000 ms (×${timeScale} for this machine's load)`,
      );
    }

    /** Index of the first invoke whose summary line reports a failed send. */
    function firstFailure(report: EmulatorReport, output: ExtensionOutput): number {
      return report.invokes.findIndex((invoke) =>
        output.logs.some(
          (line) =>
            line['msg'] === 'telemetry' && line['requestId'] === invoke.requestId && Number(line['failedSends']) >= 1,
        ),
      );
    }

    it('its README gives commands that run as written, with the real variable names', async () => {
      const readme = await readFile(path.join(project, 'README.md'), 'utf8');
      assert.ok(
        readme.includes(`npm run dev -- --env ${prefix}LOG_LEVEL=debug`),
        'the debug command names the variable',
      );
      if (language === 'ts')
        assert.match(readme, /does\s+\*\*not\*\* read `HTTPS_PROXY`/, 'the missing proxy support is documented');
      const commands = readme
        .split('\n')
        .filter((line) => /^(npm|npx) /.test(line))
        .map((line) => line.replace(/#.*$/, ''));
      assert.ok(commands.length >= 4, commands.join('\n'));
      // `<` and `>` in a command are shell redirections: never a placeholder there.
      assert.deepEqual(
        commands.filter((command) => /[<>]/.test(command)),
        [],
      );
      assert.deepEqual(
        // ext publish has no script: it takes the regions, which differ per project.
        commands.filter((command) => command.startsWith('npx ext') && !command.startsWith('npx ext publish ')),
        [],
        'the package.json scripts, not npx ext',
      );
      assert.ok(commands.includes('npx ext publish --region us-east-1,eu-west-1'), 'the publish step');
      // The publishing policy: the README's JSON block that is an IAM policy document.
      const policy = /```json\n(\{\s*"Version"[\s\S]*?)```/.exec(readme)?.[1] ?? '';
      const statements = (JSON.parse(policy) as { Statement: { Resource: string | string[] }[] }).Statement;
      assert.deepEqual(statements[0]?.Resource, [
        `arn:aws:lambda:*:ACCOUNT:layer:${name}-*`,
        `arn:aws:lambda:*:ACCOUNT:layer:${name}-*:*`,
      ]);
      // Created from this checkout, the project carries it in vendor/ until the toolkit is published.
      assert.match(readme, /\*\*Unpublished toolkit\.\*\*/);
      assert.ok(readme.includes('"file:./vendor/create-lambda-extension-'), 'names the vendored dependency');
      assert.match(readme, /## Lambda Managed Instances/);
    });

    it('ships every platform.report and function line exactly once to a healthy HTTP sink over 200 invokes', async () => {
      const sink = await startTelemetrySink();
      try {
        const invokes = 200;
        const { report, output } = await dev(
          { invokes, logLines: ['first line', 'second line'] },
          { SINK: 'http', HTTP_URL: sink.url, BUFFER_TIMEOUT_MS: 25 },
        );
        assertWellBehaved(report, invokes);
        assert.deepEqual(sink.malformed, []);
        const records = sink.records();

        const requestIds = report.invokes.map((invoke) => invoke.requestId).sort();
        const reports = records.filter((record) => record.type === 'platform.report');
        assert.deepEqual(reports.map(requestIdOf).sort(), requestIds, 'one platform.report per invoke, no duplicates');
        const starts = records.filter((record) => record.type === 'platform.start');
        assert.deepEqual(starts.map(requestIdOf).sort(), requestIds);

        const functionLines = records.filter((record) => record.type === 'function').map((record) => record.record);
        assert.equal(functionLines.filter((line) => line === 'first line').length, invokes);
        assert.equal(functionLines.filter((line) => line === 'second line').length, invokes);
        assert.equal(functionLines.length, 2 * invokes);
        assert.equal(records.filter((record) => record.type === 'extension').length, 0, 'none of its own output');

        const subscription = report.telemetry.subscriptions.find((entry) => entry.extension === name);
        assert.equal(subscription?.droppedRecords, 0, 'Lambda dropped nothing: the listener kept up');
        assert.equal(subscription?.schemaVersion, '2022-12-13');
        assert.deepEqual(subscription?.types, ['platform', 'function', 'extension']);
        assert.match(subscription?.destination ?? '', /^http:\/\/sandbox\.localdomain:\d+\/telemetry$/);

        const totals = logLine(output, 'telemetry totals');
        assert.equal(totals['dropped'], 0);
        assert.equal(totals['lost'], 0);
        assert.equal(totals['failedSends'], 0);
        assert.equal(totals['shipped'], records.length);
        assert.deepEqual(
          output.logs.filter((line) => levelOf(line) === 'warn' || levelOf(line) === 'error'),
          [],
        );
      } finally {
        await sink.close();
      }
    });

    it('stays up, keeps invokes within their deadline and reports drops when the sink is down', async () => {
      const invokes = 20;
      const { report, output } = await dev(
        { invokes, intervalMs: 50, logLines: Array<string>(6).fill('a line') },
        { SINK: 'http', HTTP_URL: await deadSinkUrl(), BUFFER_TIMEOUT_MS: 25, QUEUE_MAX_RECORDS: 100, FLUSH: 'end' },
      );
      assertWellBehaved(report, invokes);
      const warnings = output.logs.filter((line) => line['msg'] === 'telemetry' && levelOf(line) === 'warn');
      assert.ok(warnings.length > 0 && warnings.length <= invokes, 'at most one summary line per invoke');
      const failures = warnings.filter((line) => Number(line['failedSends']) >= 1);
      assert.ok(failures.length > 0);
      assert.ok(
        failures.every((line) => /refused/i.test(String(line['lastError']))),
        JSON.stringify(failures),
      );
      assert.ok(
        warnings.some((line) => Number(line['dropped']) > 0),
        'drops are reported per invoke',
      );
      const announcements = output.logs.filter(
        (line) => String(line['msg']).startsWith('destination failing') && levelOf(line) === 'warn',
      );
      assert.deepEqual(
        announcements.map((line) => line['msg']),
        ['destination failing, pausing sends for 1 s'],
        'the failure is announced once',
      );
      const totals = logLine(output, 'telemetry totals');
      assert.equal(levelOf(totals), 'warn');
      assert.equal(totals['shipped'], 0);
      assert.ok(Number(totals['dropped']) > 0);
      assert.ok(Number(totals['lost']) > 0 && Number(totals['lost']) <= 100, 'the queue stayed within its 100 records');
      assert.equal(
        Number(totals['dropped']) + Number(totals['lost']),
        Number(totals['received']),
        'every record received is either dropped or lost, all counted',
      );
      // Once the destination has failed, sends pause: later invokes wait for no connection attempt.
      const first = firstFailure(report, output);
      assert.ok(first >= 0 && first < invokes - 5, `first failure at invoke ${first}`);
      const slowest = Math.max(
        ...report.invokes.slice(first + 1).map((invoke) => invoke.postRuntimeExtensionsDurationMs),
      );
      assert.ok(slowest < scaled(200), `a later invoke waited ${slowest} ms for the extension`);
    });

    it('keeps every invoke within its deadline when the sink never answers', async () => {
      const sink = await startTelemetrySink({ hang: true });
      try {
        const invokes = 4;
        const { report, output } = await dev(
          { invokes, intervalMs: 50, logLines: ['a line'] },
          { SINK: 'http', HTTP_URL: sink.url, BUFFER_TIMEOUT_MS: 25, HTTP_TIMEOUT_MS: 10_000, FLUSH: 'end' },
        );
        assertWellBehaved(report, invokes);
        // The first invoke with records to send waits for the destination up to its deadline; then
        // sends pause (1 s) and the next invokes return at once, without a request.
        const first = firstFailure(report, output);
        assert.ok(first >= 0 && first < invokes - 1, `first failure at invoke ${first}`);
        for (const invoke of report.invokes.slice(first + 1)) {
          assert.ok(
            invoke.postRuntimeExtensionsDurationMs < scaled(100),
            `invoke ${invoke.requestId} waited ${invoke.postRuntimeExtensionsDurationMs} ms while sends were paused`,
          );
        }
        assert.ok(sink.requests >= 1 && sink.requests < invokes + 1, `the sink was tried ${sink.requests} times`);
        const totals = logLine(output, 'telemetry totals');
        assert.equal(totals['shipped'], 0);
        assert.equal(levelOf(totals), 'warn');
        assert.ok(Number(totals['lost']) > 0, 'what could not be sent is counted as lost');
        assert.ok(Number(totals['failedSends']) >= 1, `failedSends ${String(totals['failedSends'])}`);
        assert.ok(
          output.logs.some(
            (line) => levelOf(line) === 'warn' && line['msg'] === 'destination failing, pausing sends for 1 s',
          ),
          'the pause is logged',
        );
      } finally {
        await sink.close();
      }
    });

    it('on Lambda Managed Instances registers SHUTDOWN only, subscribes with 2025-01-29 and ships continuously', async () => {
      // ext dev still sends invokes one at a time; the extension sees what it would see on LMI.
      const invokes = 5;
      const { report, output } = await dev(
        { invokes, intervalMs: 150, logLines: ['from the function'], functionEnv: { AWS_LAMBDA_MAX_CONCURRENCY: '4' } },
        { BUFFER_TIMEOUT_MS: 25, FLUSH_INTERVAL_MS: 100 },
      );
      assertWellBehaved(report, invokes);
      assert.deepEqual(report.extensions.find((extension) => extension.name === name)?.events, ['SHUTDOWN']);
      const subscription = report.telemetry.subscriptions.find((entry) => entry.extension === name);
      assert.equal(subscription?.schemaVersion, '2025-01-29');
      const managed = logLine(
        output,
        'managed instances: per-invoke work does not run here; registering SHUTDOWN only',
      );
      assert.equal(levelOf(managed), 'info');
      assert.equal(managed['maxConcurrency'], '4');
      const strategy = logLine(output, 'flush strategy');
      assert.deepEqual([strategy['flush'], strategy['flushIntervalMs']], ['continuous', 100]);

      // The timer shipped before SHUTDOWN; the rest was drained at SHUTDOWN.
      const lines = report.timeline
        .filter((entry) => entry.kind === 'output' && entry.extension === name)
        .map((entry) => JSON.parse(entry.text.slice(`[${name}] `.length)) as Record<string, unknown>);
      const shutdownAt = lines.findIndex((line) => line['msg'] === 'shutdown');
      assert.ok(shutdownAt > 0, 'a shutdown line');
      assert.ok(
        lines.slice(0, shutdownAt).some((line) => line['type'] === 'function'),
        'function lines shipped before SHUTDOWN, with no INVOKE event',
      );
      assert.equal(output.shipped.filter((record) => record.type === 'function').length, invokes);
      assert.equal(output.shipped.filter((record) => record.type === 'platform.report').length, invokes);
      const totals = logLine(output, 'telemetry totals');
      assert.equal(totals['lost'], 0);
      assert.equal(totals['dropped'], 0);
    });

    it('does not feed its own stdout back into the stdout sink', async () => {
      const invokes = 30;
      // The interval lets each invoke's records arrive before the next one, as
      // they would in Lambda with the default buffering.
      const { report, output } = await dev(
        { invokes, intervalMs: 40 },
        { BUFFER_TIMEOUT_MS: 25, LOG_LEVEL: 'debug', FLUSH: 'end' },
      );
      assertWellBehaved(report, invokes);
      const perInvoke = output.logs
        .filter((line) => line['msg'] === 'telemetry')
        .map((line) => Number(line['shipped']));
      assert.equal(perInvoke.length, invokes);
      // Each invoke has three platform events (start, runtimeDone, report); the
      // first ones also carry the Init phase's events, and delivery timing (and
      // ext dev's freeze between invokes, as Lambda's) may move some into a
      // neighbouring flush. A feedback loop would grow without bound.
      assert.ok(
        perInvoke.slice(2).every((count) => count <= 9),
        `shipped per invoke: ${perInvoke.join(' ')}`,
      );
      const firstHalf = perInvoke.slice(2, 16).reduce((sum, count) => sum + count, 0);
      const secondHalf = perInvoke.slice(16).reduce((sum, count) => sum + count, 0);
      assert.ok(secondHalf <= firstHalf + 6, `shipped ${firstHalf} then ${secondHalf}: growing`);
      assert.equal(output.shipped.filter((record) => record.type === 'extension').length, 0);
      assert.equal(output.shipped.filter((record) => record.type === 'platform.report').length, invokes);
      const totals = logLine(output, 'telemetry totals');
      assert.ok(Number(totals['ownLinesSkipped']) >= invokes, 'its own lines did come back, and were skipped');
      assert.equal(totals['dropped'], 0);
      assert.equal(totals['lost'], 0);
    });
  });
}

import assert from 'node:assert/strict';
import { scaled } from '../helpers/time-scale.js';
import { after, before, describe, it } from 'node:test';
import type { EmulatorReport } from '../../src/core/emulator/index.js';
import { createAndBuild, describeRun, runExt } from '../helpers/run-cli.js';

/**
 * Issue 24.5: a generated telemetry listener takes batches from anyone who
 * can reach its port, so under `ext dev` (a developer's machine, where
 * sandbox.localdomain does not resolve) it must listen on loopback only, and
 * on a free port by default, so that two such extensions can run side by side.
 */
for (const language of ['go', 'ts'] as const) {
  describe(
    `the ${language === 'go' ? 'Go' : 'TypeScript'} telemetry listener under ext dev`,
    { timeout: scaled(600_000) },
    () => {
      const name = `tel-listener-${language}`;
      let workspace: { path: string; cleanup: () => Promise<void> } | undefined;
      let layer: string;

      before(async () => {
        ({ workspace, layer } = await createAndBuild(name, ['--lang', language, '--template', 'telemetry']));
      });
      after(async () => workspace?.cleanup());

      it('binds 127.0.0.1 on a free port with the default settings, and still receives', async () => {
        const result = await runExt(['dev', '--layer', layer, '--json', '--invokes', '2', '--function-log', 'hello'], {
          timeoutMs: 120_000,
        });
        assert.equal(result.code, 0, describeRun(result));
        const report = JSON.parse(result.stdout) as EmulatorReport;
        const lines = report.timeline
          .filter((entry) => entry.kind === 'output' && entry.extension === name)
          .map((entry) => JSON.parse(entry.text.slice(`[${name}] `.length)) as Record<string, unknown>);
        const subscribed = lines.find((line) => line['msg'] === 'subscribed to telemetry');
        assert.ok(subscribed !== undefined, describeRun(result));
        const listener = String(subscribed['listener']);
        assert.match(listener, /^127\.0\.0\.1:\d+$/u, 'listening on loopback only');
        assert.notEqual(listener, '127.0.0.1:4243', 'no fixed port');
        assert.match(
          String(subscribed['uri']),
          new RegExp(`^http://sandbox\\.localdomain:${listener.split(':')[1]}/`, 'u'),
        );
        const shipped = lines.filter((line) => line['type'] === 'function' && String(line['record']).includes('hello'));
        assert.ok(shipped.length >= 1, 'the function lines still reach the stdout sink');
      });
    },
  );
}

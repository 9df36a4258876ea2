import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hostArchitecture } from '../../src/core/architectures.js';
import type { EmulatorReport } from '../../src/core/emulator/index.js';
import { describeRun, runCreate, runExt, temporaryDirectory } from '../helpers/run-cli.js';

/**
 * Issue 24.5: the generated Go telemetry listener takes batches from anyone
 * who can reach its port, so under `ext dev` (a developer's machine, where
 * sandbox.localdomain does not resolve) it must listen on loopback only, and
 * on a free port by default, so that two such extensions can run side by side.
 */
describe('the Go telemetry listener under ext dev', { timeout: 600_000 }, () => {
  let workspace: { path: string; cleanup: () => Promise<void> };
  let layer: string;

  before(async () => {
    workspace = await temporaryDirectory('cle-hostile-listener-');
    const project = path.join(workspace.path, 'tel-listener');
    const created = await runCreate([project, '--lang', 'go', '--template', 'telemetry', '--yes']);
    assert.equal(created.code, 0, describeRun(created));
    const architecture = hostArchitecture() ?? 'x86_64';
    const built = await runExt(['build', '--arch', architecture], { cwd: project, timeoutMs: 300_000 });
    assert.equal(built.code, 0, describeRun(built));
    layer = path.join(project, 'dist', architecture);
  });
  after(async () => workspace?.cleanup());

  it('binds 127.0.0.1 on a free port with the default settings, and still receives', async () => {
    const result = await runExt(['dev', '--layer', layer, '--json', '--invokes', '2', '--function-log', 'hello'], {
      timeoutMs: 120_000,
    });
    assert.equal(result.code, 0, describeRun(result));
    const report = JSON.parse(result.stdout) as EmulatorReport;
    const lines = report.timeline
      .filter((entry) => entry.kind === 'output' && entry.extension === 'tel-listener')
      .map((entry) => JSON.parse(entry.text.slice('[tel-listener] '.length)) as Record<string, unknown>);
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
});

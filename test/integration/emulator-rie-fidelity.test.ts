import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, describe, test } from 'node:test';
import { runEmulator, type EmulatorReport } from '../../src/core/emulator/index.js';
import { addFile, makeLayer } from '../helpers/emulator-fixtures.js';
import { cases, type BatteryCase } from '../helpers/battery-cases.js';

/**
 * The five places where `ext dev` disagreed with AWS's RIE (issue 30), checked
 * fast and in-process with the conformance battery's own fixtures; the battery
 * (test/conformance/conformance-battery.test.ts) checks the same against RIE itself.
 */
const layers: string[] = [];
after(async () => {
  await Promise.all(layers.map((layer) => rm(layer, { recursive: true, force: true })));
});

const fixture = (id: string): BatteryCase => {
  const found = cases.find((entry) => entry.id === id);
  assert.ok(found, id);
  return found;
};

async function run(id: string, managed: boolean, invokes?: number): Promise<EmulatorReport> {
  const testCase = fixture(id);
  const layer = await makeLayer();
  layers.push(layer);
  await addFile(layer, 'fixture', testCase.file?.content ?? testCase.script ?? '', testCase.file?.mode ?? 0o755);
  return runEmulator({
    layerDirectory: layer,
    invokes: invokes ?? testCase.invokes ?? 1,
    function: { durationMs: testCase.functionDurationMs ?? 0, timeoutSeconds: 10 },
    initTimeoutMs: 10_000,
    ...(managed ? { managedInstances: { maxConcurrency: 2 } } : {}),
  });
}

const lines = (report: EmulatorReport) =>
  report.timeline
    .filter((entry) => entry.kind === 'output')
    .map((entry) => /CONF (.*)$/u.exec(entry.text)?.[1])
    .filter((line): line is string => line !== undefined);
const notes = (report: EmulatorReport) =>
  report.timeline.filter((entry) => entry.kind === 'note').map((entry) => entry.text);
const errorTypes = (report: EmulatorReport) => report.verdicts.map((verdict) => verdict.errorType);

for (const managed of [false, true]) {
  describe(managed ? 'on Managed Instances' : 'on demand', { concurrency: 4 }, () => {
    test('a refused register the extension then corrects is no verdict (a note), and the run passes', async () => {
      const report = await run('register-refused-then-corrected', managed);
      assert.deepEqual(errorTypes(report), [], JSON.stringify(report.verdicts));
      assert.equal(report.status, 'passed');
      assert.ok(lines(report).includes('event-foo 403 Extension.InvalidEventType'), lines(report).join('\n'));
      assert.ok(lines(report).includes('register 200 -'));
      assert.ok(notes(report).some((text) => /register refused \(403 Extension\.InvalidEventType\)/u.test(text)));
    });

    test('after init/error Init goes on until the process exits; its calls meanwhile get 403', async () => {
      const report = await run('init-error-then-goes-on', managed);
      assert.ok(
        lines(report).includes('next-after-init-error 403 Extension.InvalidExtensionState'),
        lines(report).join('\n'),
      );
      assert.deepEqual(errorTypes(report), [managed ? 'Extension.ConfigInvalid' : 'Extension.InitError']);
      assert.equal(report.inits[0]?.status, 'error');
    });

    test('an event written into a next call the client dropped is lost: killed at the deadline, naming the cause', async () => {
      const report = await run('next-client-timeout', managed);
      const verdict = report.verdicts.find((entry) => entry.kind === 'shutdown-timeout');
      assert.ok(verdict, JSON.stringify(report.verdicts));
      assert.equal(verdict.errorType, 'Extension.ShutdownFailed');
      assert.match(verdict.message, /client timeout on event\/next/u);
      assert.ok(notes(report).some((text) => /SHUTDOWN lost/u.test(text)));
      assert.ok(!lines(report).some((line) => line.includes('SHUTDOWN')), 'the extension never saw SHUTDOWN');
    });

    test('a parked next stays unanswered after exit/error', async () => {
      const report = await run('next-parked-at-exit-error', managed);
      assert.ok(lines(report).includes('parked-next still-waiting'), lines(report).join('\n'));
    });

    test('CRLF on a #! argument starts the interpreter (a crash); on the interpreter it is a launch error', async () => {
      for (const id of ['crlf-env-sh', 'crlf-sh-e']) {
        const report = await run(id, managed);
        assert.deepEqual(errorTypes(report), ['Extension.Crash'], `${id}: ${JSON.stringify(report.verdicts)}`);
      }
      const report = await run('crlf-sh', managed);
      assert.deepEqual(errorTypes(report), ['Extension.LaunchError']);
      assert.match(report.verdicts[0]!.message, /bad interpreter "\/bin\/sh\^M"/u);
    });

    test('init/error and exit/error types: LMI keeps an Extension.* type, on demand the generic one', async () => {
      const typed = await run('init-error-typed-then-exits', managed);
      assert.deepEqual(errorTypes(typed), [managed ? 'Extension.ConfigInvalid' : 'Extension.InitError']);
      const untyped = await run('init-error-untyped-then-exits', managed);
      assert.deepEqual(errorTypes(untyped), ['Extension.InitError']);
      const exitTyped = await run('exit-error-typed-then-exits', managed);
      assert.deepEqual(errorTypes(exitTyped), [managed ? 'Extension.Broken' : 'Extension.ExitError']);
      const exitUntyped = await run('exit-error-untyped', managed);
      assert.deepEqual(errorTypes(exitUntyped), ['Extension.ExitError']);
    });

    test('a file that is not executable: PermissionDenied on LMI, Extension.LaunchError on demand', async () => {
      const report = await run('not-executable', managed);
      assert.deepEqual(errorTypes(report), [managed ? 'PermissionDenied' : 'Extension.LaunchError']);
    });
  });
}

import assert from 'node:assert/strict';
import { scaled } from '../helpers/time-scale.js';
import { rm } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { addFile, addNodeExtension, makeLayer, type FixtureBehaviour } from '../helpers/emulator-fixtures.js';
import { describeRun, runExt } from '../helpers/run-cli.js';
import { rieBinary, runUnderRie, type RieRun } from '../helpers/rie.js';
import { skipWithoutTool } from '../helpers/tiers.js';

/**
 * Misbehaving extensions must meet the same fate under `ext dev` as under
 * AWS's Runtime Interface Emulator. Each case names RIE's outcome, read from
 * its log (the first fatal error it stores, a reset for a timeout, or a kill
 * at the shutdown deadline), and the `ext dev` verdict that stands for it.
 */
const availability = await rieBinary();
const skip = skipWithoutTool('the RIE verdict conformance suite', 'skip' in availability ? availability.skip : false);

type RieOutcome =
  { fatalError: string } | { reset: 'Timeout' } | { killedAtShutdownDeadline: true } | { registrationRefused: string };

/** What RIE did to the layer, in the words of its log. */
function rieOutcomes(run: RieRun): RieOutcome[] {
  const outcomes: RieOutcome[] = [];
  const fatal = /First fatal error stored in appctx"?(?::| errorType=) ?(Extension\.[A-Za-z]+)/u.exec(run.log);
  if (fatal?.[1] !== undefined) outcomes.push({ fatalError: fatal[1] });
  if (/Reset initiated: Timeout/u.test(run.log)) outcomes.push({ reset: 'Timeout' });
  if (/did not exit after deadline/u.test(run.log)) outcomes.push({ killedAtShutdownDeadline: true });
  const refused = /"errorType":"(Extension\.InvalidEventType)"/u.exec(run.log);
  if (refused?.[1] !== undefined) outcomes.push({ registrationRefused: refused[1] });
  return outcomes;
}

interface Case {
  name: string;
  fixture: FixtureBehaviour | 'not-executable' | 'exit-on-refusal';
  mode?: 'on-demand' | 'managed-instances';
  rie: RieOutcome;
  /** The `ext dev` verdict errorTypes that must appear. */
  devErrorTypes: string[];
  /** Function timeout for both, in seconds: RIE has no separate init limit, so a hung Init ends at this. */
  timeoutSeconds?: number;
}

const cases: Case[] = [
  {
    name: 'exits before SHUTDOWN',
    fixture: { exitAfterInvokes: 1, exitCode: 0 },
    rie: { fatalError: 'Extension.Crash' },
    devErrorTypes: ['Extension.Crash'],
  },
  {
    name: 'is not executable',
    fixture: 'not-executable',
    rie: { fatalError: 'Extension.LaunchError' },
    devErrorTypes: ['Extension.LaunchError'],
  },
  {
    name: 'reports init/error',
    fixture: { initError: 'Extension.ConfigInvalid' },
    rie: { fatalError: 'Extension.InitError' },
    devErrorTypes: ['Extension.InitError'],
  },
  {
    name: 'never registers',
    fixture: { neverRegister: true },
    rie: { reset: 'Timeout' },
    devErrorTypes: ['Sandbox.Timedout'],
    timeoutSeconds: 3,
  },
  {
    name: 'registers a name that matches no file',
    fixture: { registerAs: 'a-name-with-no-file' },
    rie: { registrationRefused: 'Extension.InvalidEventType' },
    // The refusal is the extension's to correct (RIE records no error for it); the file never registering is the verdict.
    devErrorTypes: ['Sandbox.Timedout'],
    timeoutSeconds: 3,
  },
  {
    name: 'overruns the SHUTDOWN deadline',
    fixture: { ignoreShutdown: true },
    rie: { killedAtShutdownDeadline: true },
    devErrorTypes: ['Extension.ShutdownFailed'],
  },
  {
    name: 'registers INVOKE on managed instances',
    fixture: 'exit-on-refusal',
    mode: 'managed-instances',
    rie: { fatalError: 'Extension.Crash' },
    devErrorTypes: ['Extension.Crash'],
  },
];

/** Registers INVOKE and SHUTDOWN and exits 1 when refused, as a generated extension did before it knew LMI. */
const exitOnRefusal = `#!/usr/bin/env node
const http = require('node:http');
const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
const request = http.request({ host, port, method: 'POST', path: '/2020-01-01/extension/register',
  headers: { 'Lambda-Extension-Name': 'fixture' } }, (response) => {
  response.resume();
  if (response.statusCode !== 200) { console.error('register refused', response.statusCode); process.exit(1); }
  setInterval(() => {}, 1 << 30);
});
request.end(JSON.stringify({ events: ['INVOKE', 'SHUTDOWN'] }));
`;

describe('ext dev verdicts agree with RIE', { skip }, () => {
  for (const testCase of cases) {
    const mode = testCase.mode ?? 'on-demand';
    it(`an extension that ${testCase.name} (${mode})`, { timeout: scaled(120_000) }, async () => {
      const layer = await makeLayer();
      try {
        if (testCase.fixture === 'not-executable') await addFile(layer, 'fixture', '#!/bin/sh\nexit 0\n', 0o644);
        else if (testCase.fixture === 'exit-on-refusal') await addFile(layer, 'fixture', exitOnRefusal, 0o755);
        else await addNodeExtension(layer, 'fixture', testCase.fixture);
        const timeoutSeconds = testCase.timeoutSeconds ?? 10;

        const rie = await runUnderRie((availability as { binary: string }).binary, {
          layerDirectory: layer,
          mode,
          invokes: 1,
          env: { AWS_LAMBDA_FUNCTION_TIMEOUT: String(timeoutSeconds) },
        });
        assert.deepEqual(
          rieOutcomes(rie).filter((outcome) => JSON.stringify(outcome) === JSON.stringify(testCase.rie)),
          [testCase.rie],
          `RIE's outcome\n--- RIE log\n${rie.log}`,
        );

        const dev = await runExt(
          [
            'dev',
            '--layer',
            layer,
            '--invokes',
            '1',
            '--json',
            '--timeout',
            String(timeoutSeconds),
            '--init-timeout',
            String(timeoutSeconds * 1000),
            ...(mode === 'managed-instances' ? ['--managed-instances'] : []),
          ],
          { timeoutMs: 60_000 },
        );
        assert.equal(dev.code, 1, describeRun(dev));
        const report = JSON.parse(dev.stdout) as { verdicts: { errorType: string }[] };
        const errorTypes = new Set(report.verdicts.map((verdict) => verdict.errorType));
        for (const expected of testCase.devErrorTypes) {
          assert.ok(errorTypes.has(expected), `ext dev verdicts ${JSON.stringify([...errorTypes])} lack ${expected}`);
        }
      } finally {
        await rm(layer, { recursive: true, force: true });
      }
    });
  }
});

import assert from 'node:assert/strict';
import { scaled } from '../helpers/time-scale.js';
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { addFile, makeLayer } from '../helpers/emulator-fixtures.js';
import { extBin, repositoryRoot } from '../helpers/run-cli.js';
import { rieBinary, runUnderRie, type RieRun } from '../helpers/rie.js';
import { skipWithoutTool } from '../helpers/tiers.js';
import {
  agreedDifferences,
  cases,
  differencesTable,
  modes,
  prelude,
  type BatteryCase,
  type Mode,
} from '../helpers/battery-cases.js';

/**
 * The conformance battery (test/helpers/battery-cases.ts): every case under AWS's RIE and
 * under `ext dev`, in both compute modes. Both sides must agree on the
 * outcome (the first fatal error, an Init timeout, a kill at the Shutdown
 * deadline) and on every status and errorType the extension was answered,
 * unless the case is in the table of agreed differences.
 *
 * Runs are concurrent: each RIE has its own mount and PID namespace (its
 * /opt, its processes), each `ext dev` its own PID namespace, and both listen
 * on free loopback ports. BATTERY_CASES=id,id narrows the run;
 * BATTERY_LOGS=<folder> keeps both sides' logs there.
 */
const availability = await rieBinary();
const skip = skipWithoutTool('the RIE conformance battery', 'skip' in availability ? availability.skip : false);

const only = (process.env['BATTERY_CASES'] ?? '').split(',').filter(Boolean);
const selected = only.length > 0 ? cases.filter((entry) => only.includes(entry.id)) : cases;

interface Outcome {
  /** The first fatal error the platform recorded, or "none". */
  fatal: string;
  initTimeout: boolean;
  killedAtShutdownDeadline: boolean;
}

interface Side {
  outcome: Outcome;
  /** The `CONF …` lines the extension printed, sorted (concurrent calls may print in either order). */
  lines: string[];
  log: string;
}

const confLines = (text: string): string[] =>
  text
    .split('\n')
    .map((line) => /CONF (.*)$/u.exec(line)?.[1]?.trim())
    .filter((line): line is string => line !== undefined)
    .sort();

/** What RIE recorded, in the words of its log (on-demand and LMI word it differently). */
function rieSide(run: RieRun): Side {
  const fatal =
    /First fatal error stored in appctx"?(?::| errorType=) ?([A-Za-z.]+)/u.exec(run.log)?.[1] ??
    /level=\w+ msg="First fatal error stored[^\n]*?errorType=([A-Za-z.]+)/u.exec(run.log)?.[1] ??
    'none';
  return {
    outcome: {
      fatal,
      initTimeout: /Reset initiated: Timeout|Received Init error" err="Sandbox\.Timedout/u.test(run.log),
      killedAtShutdownDeadline: /did not exit after deadline/u.test(run.log) || managedKillAtDeadline(run.log),
    },
    lines: confLines(run.log),
    log: run.log,
  };
}

/**
 * RIE's LMI mode logs no deadline warning: an extension killed at the Shutdown
 * deadline shows as a SIGKILL well after Shutdown began (one it kills at once,
 * as it does those not subscribed, follows within milliseconds).
 */
function managedKillAtDeadline(log: string): boolean {
  const time = (line: string) => Date.parse(/^time=(\S+)/u.exec(line)?.[1] ?? '');
  let start: number | undefined;
  for (const line of log.split('\n')) {
    if (line.includes('ShutdownContext shutdown() initiated')) start = time(line);
    const kill = /msg="Sending SIGKILL to process" name=extension-/u.test(line);
    if (kill && start !== undefined && time(line) - start >= 1000) return true;
  }
  return false;
}

interface DevReport {
  verdicts: { errorType: string; kind: string }[];
  shutdown?: { extensions: { outcome: string }[] };
  timeline: { kind: string; text: string }[];
}

function devSide(report: DevReport, log: string): Side {
  const fatal = report.verdicts.find(
    (verdict) => verdict.errorType !== 'Sandbox.Timedout' && verdict.kind !== 'shutdown-timeout',
  );
  return {
    outcome: {
      fatal: fatal?.errorType ?? 'none',
      initTimeout: report.verdicts.some(
        (verdict) => verdict.errorType === 'Sandbox.Timedout' && verdict.kind !== 'invoke-timeout',
      ),
      killedAtShutdownDeadline:
        report.verdicts.some((verdict) => verdict.kind === 'shutdown-timeout') ||
        report.shutdown?.extensions.some((extension) => extension.outcome === 'killed-at-deadline') === true,
    },
    lines: confLines(
      report.timeline
        .filter((entry) => entry.kind === 'output')
        .map((entry) => entry.text)
        .join('\n'),
    ),
    log,
  };
}

/** `ext dev --json` in a PID namespace of its own, so nothing a fixture forks outlives the run. */
function runDev(layer: string, mode: Mode, testCase: BatteryCase): Promise<Side> {
  const timeoutSeconds = testCase.timeoutSeconds ?? defaultTimeoutSeconds;
  const args = [
    extBin,
    'dev',
    '--layer',
    layer,
    '--invokes',
    String(testCase.invokes ?? 1),
    '--json',
    '--timeout',
    String(timeoutSeconds),
    '--init-timeout',
    String(timeoutSeconds * 1000),
    '--function-duration',
    String(testCase.functionDurationMs ?? 0),
    ...(mode === 'managed-instances' ? ['--managed-instances', '--concurrency', '2'] : []),
  ];
  const root = process.getuid?.() === 0;
  return new Promise((resolve, reject) => {
    const child = spawn(
      'unshare',
      [
        ...(root ? [] : ['--map-root-user']),
        '--mount',
        '--propagation',
        'private',
        '--pid',
        '--fork',
        '--kill-child',
        '--mount-proc',
        process.execPath,
        ...args,
      ],
      { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), scaled(90_000));
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      try {
        resolve(devSide(JSON.parse(stdout) as DevReport, stdout + stderr));
      } catch (error) {
        reject(new Error(`ext dev printed no report (${String(error)}):\n${stdout}\n${stderr}`));
      }
    });
  });
}

async function runBoth(testCase: BatteryCase, mode: Mode): Promise<{ rie: Side; dev: Side }> {
  const layer = await makeLayer();
  try {
    if (testCase.file !== undefined) await addFile(layer, 'fixture', testCase.file.content, testCase.file.mode);
    else await addFile(layer, 'fixture', testCase.script ?? prelude, 0o755);
    const [rieRun, dev] = await Promise.all([
      runUnderRie((availability as { binary: string }).binary, {
        layerDirectory: layer,
        mode,
        invokes: testCase.invokes ?? 1,
        functionDurationMs: testCase.functionDurationMs ?? 0,
        runtime: 'sh',
        invokeTimeoutMs: 60_000,
        env: { AWS_LAMBDA_FUNCTION_TIMEOUT: String(testCase.timeoutSeconds ?? defaultTimeoutSeconds) },
      }),
      runDev(layer, mode, testCase),
    ]);
    return { rie: rieSide(rieRun), dev };
  } finally {
    await rm(layer, { recursive: true, force: true });
  }
}

/** Generous: under load RIE's stand-in runtime (node) alone can take seconds to start, and Init waits for it. */
const defaultTimeoutSeconds = 15;

const show = (side: Side) => JSON.stringify({ outcome: side.outcome, lines: side.lines }, null, 1);

describe('ext dev agrees with RIE on the conformance battery', { skip, concurrency: 4 }, () => {
  for (const testCase of selected) {
    for (const mode of modes) {
      it(`${testCase.id} (${mode})`, { timeout: scaled(180_000) }, async () => {
        const { rie, dev } = await runBoth(testCase, mode);
        const logs = process.env['BATTERY_LOGS'];
        if (logs !== undefined && logs !== '') {
          await mkdir(logs, { recursive: true });
          await writeFile(path.join(logs, `${testCase.id}-${mode}.rie.log`), `${show(rie)}\n${rie.log}`);
          await writeFile(path.join(logs, `${testCase.id}-${mode}.dev.log`), `${show(dev)}\n${dev.log}`);
        }
        const agreed = agreedDifferences.find(
          (difference) => difference.id === testCase.id && difference.modes.includes(mode),
        );
        const detail = `\n--- RIE\n${show(rie)}\n--- ext dev\n${show(dev)}\n--- RIE log\n${rie.log.slice(-6000)}`;
        if (agreed?.differs !== 'outcome' && agreed?.differs !== 'both') {
          assert.deepEqual(dev.outcome, rie.outcome, `outcome${detail}`);
        }
        if (agreed?.differs !== 'lines' && agreed?.differs !== 'both') {
          assert.deepEqual(dev.lines, rie.lines, `statuses the extension was answered${detail}`);
        }
        const printed = rie.lines.length > 0 || dev.lines.length > 0;
        assert.ok(printed || testCase.file !== undefined, `the fixture printed nothing${detail}`);
      });
    }
  }
});

describe('the table of agreed differences', () => {
  it('names real cases and modes, and docs/reference/emulator-conformance.md prints it', async () => {
    for (const difference of agreedDifferences) {
      assert.ok(
        cases.some((entry) => entry.id === difference.id),
        `${difference.id} is no case in test/helpers/battery-cases.ts`,
      );
      assert.ok(difference.source.length > 0 && difference.reason.length > 0, difference.id);
    }
    const page = await readFile(path.join(repositoryRoot, 'docs', 'reference', 'emulator-conformance.md'), 'utf8');
    // Compared cell by cell: prettier pads the page's copy into columns.
    const cells = (line: string) =>
      line
        .split('|')
        .map((cell) => cell.trim().replace(/^-+$/u, '-'))
        .join('|');
    const pageRows = new Set(page.split('\n').map(cells));
    for (const row of differencesTable().split('\n')) {
      assert.ok(pageRows.has(cells(row)), `emulator-conformance.md lacks this row of the table:\n${row}`);
    }
    const counts = modes.map((mode) => {
      const differing = agreedDifferences.filter((difference) => difference.modes.includes(mode)).length;
      return `${mode}: ${cases.length - differing} of ${cases.length} cases agree`;
    });
    for (const line of counts) assert.ok(page.includes(line), `emulator-conformance.md lacks "${line}"`);
    assert.ok(cases.length >= 40);
  });
});

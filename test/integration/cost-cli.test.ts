import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildNullLayer, type CostReport } from '../../src/core/cost/index.js';
import { hostArchitecture } from '../../src/core/layer/architectures.js';
import { temporaryFolders } from '../helpers/paths.js';
import { describeRun, repositoryRoot, run, runExt } from '../helpers/run-cli.js';
import { scaled } from '../helpers/time-scale.js';

/**
 * `ext cost` with real processes: a fixture that leaks on every invoke, which --soak must catch; one that works
 * 40 ms after every INVOKE, which --check must refuse; and the null extension measured against itself.
 */

const fixtures = path.join(repositoryRoot, 'test', 'fixtures', 'cost');
const folder = temporaryFolders();

function parsed(stdout: string): CostReport {
  return JSON.parse(stdout) as CostReport;
}

describe('ext cost', { timeout: scaled(240_000) }, () => {
  it('--soak catches an extension that keeps memory from every invoke', async () => {
    const result = await runExt(
      [
        'cost',
        '--layer',
        path.join(fixtures, 'leaky'),
        '--cold-starts',
        '1',
        '--invokes',
        '2',
        '--soak',
        '80',
        '--json',
      ],
      { timeoutMs: 120_000 },
    );
    assert.equal(result.code, 1, describeRun(result));
    assert.match(result.stderr, /error\[E_COST_SOAK_FAILED\]: the soak failed: the extensions' memory keeps growing/);
    const report = parsed(result.stdout);
    assert.equal(report.status, 'failed');
    assert.equal(report.errorCode, 'E_COST_SOAK_FAILED');
    assert.deepEqual(
      report.soak?.verdicts.map((verdict) => verdict.kind),
      ['memory-growth'],
    );
    // 512 KiB a invoke is 500 MiB per 1,000: far over the threshold whatever the noise.
    assert.ok(report.soak.memory.slopePer1000 > 200, JSON.stringify(report.soak.memory));
    assert.equal(report.soak.samples.length, 80);
    assert.equal(report.language, 'ts');
  });

  it('--check refuses an extension over its post-runtime budget, and names the budget', async () => {
    const project = await folder('cle-cost-check-');
    const config = {
      name: 'slow',
      language: 'ts',
      entry: 'src/index.ts',
      architectures: [hostArchitecture() ?? 'x86_64'],
      version: '0.1.0',
      cost: { postRuntimeP99Ms: 20, peakRssMiB: 1000 },
    };
    await writeFile(path.join(project, 'lambda-extension.json'), JSON.stringify(config));
    const result = await runExt(
      ['cost', '--layer', path.join(fixtures, 'slow'), '--cold-starts', '2', '--invokes', '4', '--check', '--json'],
      { cwd: project, timeoutMs: 120_000 },
    );
    assert.equal(result.code, 1, describeRun(result));
    assert.match(result.stderr, /error\[E_COST_BUDGET_EXCEEDED\]: over budget: postRuntimeP99Ms/);
    const report = parsed(result.stdout);
    assert.equal(report.errorCode, 'E_COST_BUDGET_EXCEEDED');
    const [post, peak] = report.budgets!.results;
    assert.equal(post?.name, 'postRuntimeP99Ms');
    assert.equal(post?.exceeded, true);
    // It works 40 ms from each INVOKE before it calls next, so the last ~30 ms come after the 10 ms handler has
    // answered (a lower bound: not scaled).
    const floorMs = 40 - report.functionDurationMs;
    assert.ok(post.measured >= floorMs, JSON.stringify(post));
    assert.equal(peak?.exceeded, false);
    assert.ok(report.figures.postRuntimeMs.p50 >= floorMs);
  });

  it('--check without "cost" budgets fails before measuring anything', async () => {
    const project = await folder('cle-cost-nobudget-');
    await writeFile(
      path.join(project, 'lambda-extension.json'),
      JSON.stringify({ name: 'x', language: 'go', entry: '.', architectures: ['x86_64'], version: '0.1.0' }),
    );
    const result = await runExt(['cost', '--layer', path.join(fixtures, 'slow'), '--check'], { cwd: project });
    assert.equal(result.code, 2, describeRun(result));
    assert.match(result.stderr, /error\[E_COST_NO_BUDGETS\]/);
  });

  it('runs a real function (provided.al2023) in every environment, its memory in the environment', async () => {
    const functionFolder = await folder('cle-cost-function-');
    await mkdir(functionFolder, { recursive: true });
    const built = await run('go', ['build', '-o', path.join(functionFolder, 'bootstrap'), '.'], {
      cwd: path.join(fixtures, 'function'),
      env: { CGO_ENABLED: '0', GOFLAGS: '-mod=mod' },
      timeoutMs: 120_000,
    });
    assert.equal(built.code, 0, describeRun(built));
    const result = await runExt(
      [
        'cost',
        '--layer',
        path.join(fixtures, 'slow'),
        '--function',
        functionFolder,
        '--runtime',
        'provided.al2023',
        '--cold-starts',
        '2',
        '--invokes',
        '4',
        '--soak',
        '50',
        '--json',
      ],
      { timeoutMs: 120_000 },
    );
    assert.equal(result.code, 0, describeRun(result));
    const report = parsed(result.stdout);
    assert.match(report.function, /provided\.al2023/);
    // The runtime process is part of every environment, the one without extensions too.
    assert.ok(report.figures.memory.environmentPeakMiB.none > 0, JSON.stringify(report.figures.memory));
    assert.ok(report.figures.memory.environmentPeakMiB.layer > report.figures.memory.extensionPeakMiB);
    // The soak gave the function its 50th event padded to 1 MiB.
    assert.equal(report.soak?.load.largePayloads, 1);
    assert.equal(report.soak?.samples.length, 50);
  });

  it('ext dev --trace writes the run as Chrome Trace Event JSON', async () => {
    const trace = path.join(await folder('cle-dev-trace-'), 'dev.trace.json');
    const result = await runExt(['dev', '--layer', path.join(fixtures, 'slow'), '--invokes', '2', '--trace', trace]);
    assert.equal(result.code, 0, describeRun(result));
    const { readFile } = await import('node:fs/promises');
    const { traceEvents } = JSON.parse(await readFile(trace, 'utf8')) as {
      traceEvents: { ph: string; name: string; ts: number; dur?: number }[];
    };
    const complete = traceEvents.filter((event) => event.ph === 'X').map((event) => event.name);
    for (const name of ['Init', 'Invoke 1', 'Invoke 2', 'function', 'post-runtime', 'Shutdown']) {
      assert.ok(complete.includes(name), `${name} in ${complete.join(', ')}`);
    }
    const watched = await runExt(['dev', '--layer', path.join(fixtures, 'slow'), '--watch', '--trace', trace]);
    assert.equal(watched.code, 2, describeRun(watched));
  });

  describe('the null Go extension against itself', () => {
    let layer: Awaited<ReturnType<typeof buildNullLayer>>;
    before(async () => {
      layer = await buildNullLayer({ language: 'go', architecture: hostArchitecture() ?? 'x86_64' });
    });
    after(() => layer?.cleanup());

    it('costs what the floor costs: memory ×1, every figure reported, the timeline drawn', async () => {
      const output = await folder('cle-cost-null-');
      const trace = path.join(output, 'null.trace.json');
      const result = await runExt(
        ['cost', '--layer', layer.directory, '--cold-starts', '3', '--invokes', '9', '--json', '--trace', trace],
        { timeoutMs: 120_000 },
      );
      assert.equal(result.code, 0, describeRun(result));
      const report = parsed(result.stdout);
      assert.equal(report.status, 'passed');
      assert.equal(report.language, 'go');
      assert.equal(report.figures.initAddedMs.count, 3);
      assert.equal(report.figures.postRuntimeMs.count, 9);
      // Peak RSS does not depend on timing: the same binary peaks within a few pages of itself.
      const memoryRatio = report.figures.memory.ratioToNull;
      assert.ok(memoryRatio !== null && memoryRatio > 0.8 && memoryRatio < 1.25, String(memoryRatio));
      assert.ok(report.figures.memory.extensionPeakMiB > 0);
      assert.equal(report.figures.memory.environmentPeakMiB.none, 0);
      for (const name of ['Init', 'Invoke 1', 'Invoke 3', 'Shutdown', 'registration', 'post-runtime']) {
        assert.ok(
          report.timeline.some((span) => span.name === name),
          `${name} in ${JSON.stringify(report.timeline.map((span) => span.name))}`,
        );
      }
      const { readFile } = await import('node:fs/promises');
      const events = (JSON.parse(await readFile(trace, 'utf8')) as { traceEvents: { ph: string; name: string }[] })
        .traceEvents;
      assert.ok(events.some((event) => event.ph === 'X' && event.name === 'Init'));
    });

    it('runs on Managed Instances, where no extension takes part in an invoke: post-runtime time 0', async () => {
      const result = await runExt(
        ['cost', '--layer', layer.directory, '--managed-instances', '--cold-starts', '2', '--invokes', '4', '--json'],
        { timeoutMs: 120_000 },
      );
      assert.equal(result.code, 0, describeRun(result));
      const report = parsed(result.stdout);
      assert.equal(report.computeMode, 'managed-instances');
      assert.equal(report.figures.postRuntimeMs.max, 0);
      assert.ok(report.figures.memory.extensionPeakMiB > 0);
    });
  });
});

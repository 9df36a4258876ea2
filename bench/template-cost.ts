/**
 * What each generated template costs the function, as its README states it: every template in each language is
 * scaffolded, built for this machine and measured with `ext cost --json --no-function` (the simulated handler),
 * against the null extension of its language. These rows are informational (no target): they are the figures the
 * templates' READMEs quote, refreshed by `--only template-cost`.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { CostReport } from '../src/core/cost/index.js';
import { timeCommand } from './measure.js';
import { createBin, extBin, log, node, quick, rows } from './rows.js';

const run = promisify(execFile);
const templates = ['basic', 'telemetry', 'cache', 'proxy'] as const;
/** Per variant; the READMEs quote these counts. About 2 minutes for the eight templates on 2 cores. */
export const coldStarts = quick ? 4 : 10;
export const invokes = quick ? 60 : 200;

/**
 * The bench scaffolds without `npm install` (as bench/run.ts does); a TypeScript template with runtime dependencies
 * (the cache template's signer) gets just those, installed beside the project (from npm's cache when it has them)
 * and linked in as its node_modules, so that `ext build` can bundle them.
 */
async function installRuntimeDependencies(project: string): Promise<void> {
  const manifest = JSON.parse(await readFile(path.join(project, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const dependencies = Object.entries(manifest.dependencies ?? {});
  if (dependencies.length === 0) return;
  const side = `${project}-dependencies`;
  await mkdir(side, { recursive: true });
  await writeFile(path.join(side, 'package.json'), '{"name":"bench-dependencies","private":true}\n');
  await run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      ...dependencies.map(([name, range]) => `${name}@${range}`),
    ],
    { cwd: side },
  );
  await symlink(path.join(side, 'node_modules'), path.join(project, 'node_modules'), 'dir');
}

function templateRow(
  label: string,
  figure: string,
  subject: number,
  floor: number,
  unit: string,
  ratio: number | null,
): void {
  rows.push({
    figure: `template ${label}: ${figure}`,
    baseline: `the null ${label.startsWith('Go') ? 'Go' : 'TypeScript'} extension`,
    ratio: ratio ?? (floor > 0 ? subject / floor : Number.NaN),
    ...(unit === 'ms'
      ? { medianMs: subject, baselineMedianMs: floor }
      : { median: subject, baselineMedian: floor, unit }),
    target: 'none (stated in the README)',
    met: null,
  });
}

export async function templateCostFigures(workspace: string): Promise<void> {
  for (const language of ['go', 'ts'] as const) {
    for (const template of templates) {
      const label = `${language === 'go' ? 'Go' : 'TypeScript'} ${template}`;
      const name = `bench-cost-${language}-${template}`;
      const project = path.join(workspace, name);
      log(`ext cost: the ${label} template`);
      await timeCommand(node, [createBin, name, '--lang', language, '--template', template, '--yes'], {
        cwd: workspace,
      });
      if (language === 'ts') await installRuntimeDependencies(project);
      const { stdout } = await run(
        node,
        [
          extBin,
          'cost',
          '--json',
          '--no-function',
          '--no-typecheck',
          '--cold-starts',
          String(coldStarts),
          '--invokes',
          String(invokes),
        ],
        { cwd: project, maxBuffer: 64 * 1024 * 1024 },
      );
      const { figures } = JSON.parse(stdout) as CostReport;
      const initAdded = figures.initAddedMs;
      templateRow(label, 'init added p50', initAdded.p50, initAdded.nullAdded.p50, 'ms', initAdded.ratioToNull);
      const postRuntime = figures.postRuntimeMs;
      templateRow(label, 'post-runtime p50', postRuntime.p50, postRuntime.null.p50, 'ms', postRuntime.ratioToNull);
      templateRow(label, 'post-runtime p99', postRuntime.p99, postRuntime.null.p99, 'ms', null);
      const { memory } = figures;
      templateRow(
        label,
        'extension peak RSS',
        memory.extensionPeakMiB,
        memory.nullExtensionPeakMiB,
        'MiB',
        memory.ratioToNull,
      );
    }
  }
}

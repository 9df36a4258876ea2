/**
 * `npm run bench`: the toolkit and the extensions it generates, measured in
 * the same run against the least the same job can cost (the floors in
 * bench/floors/) and against the tools a user would compare them with.
 * Prints a Markdown table and writes bench/results/latest.json.
 * `--quick`: fewer runs. `--only startup,extensions`: only those sections
 * (startup, first-prompt, pack, go-build, ts-build, extensions, standalone, emulator, runtime-api, telemetry, telemetry-delivery, proxy, cost, cache, template-cost), their
 * rows replacing the same rows of the existing latest.json. `--against BUILD`: the emulator section also
 * runs the emulator of another commit's build folder, alternately with this one (bench/extensions.ts).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { goBuildFigures, packFigures, startupFigures, typeScriptBuildFigure } from './cli.js';
import { binarySizeFigures, emulatorFigure, extensionFigures } from './extensions.js';
import { costFigures } from './cost.js';
import { templateCostFigures } from './template-cost.js';
import { buildNullGo, nullNode } from './floors.js';
import { firstPromptFigure } from './first-prompt.js';
import { runtimeApiFigure } from './runtime-api.js';
import { timeCommand } from './measure.js';
import { standaloneSizeFigures } from './standalone.js';
import { createBin, extBin, formatRow, node, quick, root, rows, type Row } from './rows.js';
import { proxyOverheadFigure } from './proxy.js';
import { cacheFigures } from './cache.js';
import { telemetryMemoryFigure, telemetrySlowSinkFigure } from './telemetry.js';
import { telemetryDeliveryFigures } from './telemetry-delivery.js';

async function scaffoldProject(workspace: string, name: string, language: string): Promise<string> {
  await timeCommand(node, [createBin, name, '--lang', language, '--yes'], { cwd: workspace });
  return path.join(workspace, name);
}

const sections = [
  'startup',
  'first-prompt',
  'pack',
  'go-build',
  'ts-build',
  'extensions',
  'standalone',
  'emulator',
  'runtime-api',
  'telemetry',
  'telemetry-delivery',
  'proxy',
  'cost',
  'cache',
  'template-cost',
] as const;
const onlyIndex = process.argv.indexOf('--only');
const only = onlyIndex === -1 ? undefined : (process.argv[onlyIndex + 1] ?? '').split(',');
const unknown = only?.filter((section) => !(sections as readonly string[]).includes(section)) ?? [];
if (only !== undefined && (only.length === 0 || unknown.length > 0)) {
  throw new Error(`--only: unknown section "${unknown[0] ?? ''}"; use ${sections.join(', ')}`);
}
const againstIndex = process.argv.indexOf('--against');
const against = againstIndex === -1 ? undefined : process.argv[againstIndex + 1];
if (againstIndex !== -1 && (against === undefined || against.startsWith('--'))) {
  throw new Error('--against: give the build folder of the commit to compare with, e.g. ../previous/build');
}
const selected = (section: (typeof sections)[number]) => only === undefined || only.includes(section);
const resultsFile = path.join(root, 'bench', 'results', 'latest.json');

async function main(): Promise<void> {
  // The bench scaffolds its projects without npm install, so they have no tsc; the TypeScript rows measure
  // the bundle against esbuild's own floor. (A type check is the project's tsc, not the toolkit's work.)
  process.env['CREATE_LAMBDA_EXTENSION_TYPECHECK'] ??= 'off';
  const started = performance.now();
  const workspace = await mkdtemp(path.join(os.tmpdir(), 'bench-'));
  try {
    if (selected('startup')) await startupFigures(workspace);
    if (selected('first-prompt')) await firstPromptFigure(workspace);
    const goProject = await scaffoldProject(workspace, 'bench-go', 'go');
    const tsProject = await scaffoldProject(workspace, 'bench-ts', 'ts');
    await timeCommand(node, [extBin, 'build'], { cwd: goProject });
    await timeCommand(node, [extBin, 'build'], { cwd: tsProject });
    if (selected('pack')) await packFigures(goProject, 'bench-go');
    if (selected('go-build')) await goBuildFigures(goProject, 'bench-go');
    if (selected('ts-build')) await typeScriptBuildFigure(tsProject);
    const layer = (project: string, name: string) => path.join(project, 'dist', 'x86_64', 'extensions', name);
    if (selected('extensions')) {
      await extensionFigures(
        { extension: { command: layer(goProject, 'bench-go'), args: [] }, floor: await buildNullGo(workspace) },
        { extension: { command: layer(tsProject, 'bench-ts'), args: [] }, floor: await nullNode(tsProject) },
      );
      await binarySizeFigures(path.join(goProject, 'dist'), 'bench-go');
    }
    if (selected('standalone')) await standaloneSizeFigures(workspace);
    if (selected('emulator')) await emulatorFigure(path.join(goProject, 'dist', 'x86_64'), against);
    if (selected('cost')) await costFigures();
    if (selected('cache')) await cacheFigures(workspace);
    if (selected('template-cost')) await templateCostFigures(workspace);
    if (selected('runtime-api')) await runtimeApiFigure(workspace);
    if (selected('telemetry')) {
      for (const language of ['go', 'ts'] as const) {
        await telemetryMemoryFigure(workspace, language, 'healthy');
        await telemetryMemoryFigure(workspace, language, 'dead');
        await telemetrySlowSinkFigure(workspace, language);
      }
    }
    if (selected('telemetry-delivery')) process.stderr.write(`${await telemetryDeliveryFigures(workspace)}\n`);
    if (selected('proxy')) for (const language of ['go', 'ts'] as const) await proxyOverheadFigure(workspace, language);
  } finally {
    await rm(workspace, { recursive: true, force: true });
  }
  if (only !== undefined) {
    // A partial run refreshes its own rows in the last full table, in place.
    const previous = JSON.parse(await readFile(resultsFile, 'utf8').catch(() => '{"rows":[]}')) as { rows: Row[] };
    const fresh = new Map(rows.map((row) => [row.figure, row]));
    const merged = previous.rows.map((row) => fresh.get(row.figure) ?? row);
    const added = rows.filter((row) => !previous.rows.some((old) => old.figure === row.figure));
    rows.splice(0, rows.length, ...merged, ...added);
  }
  const table = [
    '| figure | baseline | measured | medians | target | |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map(formatRow),
  ].join('\n');
  const results = {
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      model: os.cpus()[0]?.model,
      node: process.version,
      platform: `${process.platform}/${process.arch}`,
    },
    durationSeconds: (performance.now() - started) / 1000,
    quick,
    ...(only === undefined ? {} : { refreshed: only }),
    rows,
  };
  await mkdir(path.join(root, 'bench', 'results'), { recursive: true });
  await writeFile(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(
    `${table}\n\n${rows.filter((row) => row.met === false).length} target(s) missed; ${results.durationSeconds.toFixed(0)} s; bench/results/latest.json\n`,
  );
}

await main();

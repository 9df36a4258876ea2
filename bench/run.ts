/**
 * `npm run bench`: the toolkit and the extensions it generates, measured
 * against the baselines a user would compare them with, in the same run.
 * Prints a Markdown table and writes bench/results/latest.json.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { goBuildArguments, goBuildEnvironment } from '../src/core/build.js';
import { Emulator, runEmulator } from '../src/core/emulator/index.js';
import { invokeEvent, startFakeExtensionsApi } from '../test/helpers/fake-extensions-api.js';
import { median, paired, timeCommand, type PairedResult } from './measure.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const createBin = path.join(root, 'bin', 'create-lambda-extension.js');
const extBin = path.join(root, 'bin', 'ext.js');
const esbuildBin = path.join(root, 'node_modules', '.bin', 'esbuild');
const node = process.execPath;
const quick = process.argv.includes('--quick');
const runs = (count: number) => (quick ? Math.max(2, Math.ceil(count / 3)) : count);

interface Row {
  figure: string;
  baseline: string;
  /** subject / baseline, median of pairs; absent for absolute figures. */
  ratio?: number;
  medianMs?: number;
  baselineMedianMs?: number;
  value?: number;
  unit?: string;
  target: string;
  met: boolean | null;
  note?: string;
}

const rows: Row[] = [];
const log = (message: string) => process.stderr.write(`bench: ${message}\n`);

function ratioRow(figure: string, baseline: string, result: PairedResult, limit: number, note?: string): void {
  rows.push({
    figure,
    baseline,
    ratio: result.ratio,
    medianMs: result.medianMs,
    baselineMedianMs: result.baselineMedianMs,
    target: `≤ ${limit}×`,
    met: result.ratio <= limit,
    ...(note === undefined ? {} : { note }),
  });
}

function absoluteRow(
  figure: string,
  value: number,
  unit: string,
  target: string,
  met: boolean | null,
  note?: string,
): void {
  rows.push({ figure, baseline: 'none (absolute)', value, unit, target, met, ...(note === undefined ? {} : { note }) });
}

const nodeEmpty = () => timeCommand(node, ['-e', '']);

async function startupFigures(workspace: string): Promise<void> {
  log('ext --version, ext --help');
  ratioRow(
    '`ext --version`, whole process',
    "`node -e ''`",
    await paired(runs(15), () => timeCommand(node, [extBin, '--version']), nodeEmpty),
    1.5,
  );
  ratioRow(
    '`ext --help`, whole process',
    "`node -e ''`",
    await paired(runs(15), () => timeCommand(node, [extBin, '--help']), nodeEmpty),
    1.5,
  );
  for (const language of ['go', 'ts']) {
    log(`create-lambda-extension --lang ${language}`);
    let counter = 0;
    const create = () =>
      timeCommand(node, [createBin, `${language}-${(counter += 1)}`, '--lang', language, '--yes'], { cwd: workspace });
    ratioRow(
      `\`create-lambda-extension x --yes\` (${language === 'go' ? 'Go' : 'TS'}), whole process`,
      "`node -e ''`",
      await paired(runs(10), create, nodeEmpty),
      2.5,
    );
  }
}

async function scaffoldProject(workspace: string, name: string, language: string): Promise<string> {
  await timeCommand(node, [createBin, name, '--lang', language, '--yes'], { cwd: workspace });
  return path.join(workspace, name);
}

async function directorySize(files: string[]): Promise<number> {
  return (await Promise.all(files.map(async (file) => (await stat(file)).size))).reduce((a, b) => a + b, 0);
}

async function packFigures(goProject: string, name: string): Promise<void> {
  log('ext pack --no-build vs zip -r -9 -X');
  const zipOutput = await mkdtemp(path.join(os.tmpdir(), 'bench-zip-'));
  const infoZip = async () => {
    const started = performance.now();
    for (const architecture of ['x86_64', 'arm64']) {
      const target = path.join(zipOutput, `${architecture}.zip`);
      await rm(target, { force: true });
      await timeCommand('zip', ['-q', '-r', '-9', '-X', target, 'extensions'], {
        cwd: path.join(goProject, 'dist', architecture),
      });
    }
    return performance.now() - started;
  };
  const result = await paired(
    runs(10),
    () => timeCommand(node, [extBin, 'pack', '--no-build'], { cwd: goProject }),
    infoZip,
  );
  const ours = await directorySize(
    ['x86_64', 'arm64'].map((architecture) => path.join(goProject, 'dist', `${name}-${architecture}.zip`)),
  );
  const theirs = await directorySize(
    ['x86_64', 'arm64'].map((architecture) => path.join(zipOutput, `${architecture}.zip`)),
  );
  ratioRow(
    '`ext pack --no-build`, both architectures (Go)',
    '`zip -r -9 -X` of the two layer dirs, one after the other',
    result,
    0.6,
  );
  const sizeRatio = ours / theirs;
  rows.push({
    figure: 'layer zip size, both architectures (Go)',
    baseline: '`zip -r -9 -X`',
    ratio: sizeRatio,
    target: '≤ 1.02×',
    met: sizeRatio <= 1.02,
    note: `${ours} vs ${theirs} bytes`,
  });
  await rm(zipOutput, { recursive: true, force: true });
}

async function goBuildFigures(goProject: string, name: string): Promise<void> {
  const output = await mkdtemp(path.join(os.tmpdir(), 'bench-go-'));
  const bareBuild = (environment: NodeJS.ProcessEnv) => async () => {
    const started = performance.now();
    for (const architecture of ['x86_64', 'arm64'] as const) {
      const args = goBuildArguments('0.1.0', path.join(output, architecture, name), '.');
      await timeCommand('go', args, { cwd: goProject, env: goBuildEnvironment(architecture, environment) });
    }
    return performance.now() - started;
  };
  log('ext build, warm cache');
  const warm = await paired(
    runs(6),
    () => timeCommand(node, [extBin, 'build'], { cwd: goProject }),
    bareBuild(process.env),
  );
  ratioRow(
    '`ext build`, warm cache, nothing changed, both architectures (Go)',
    'the two bare `go build` commands, one after the other',
    warm,
    1.3,
  );

  log('ext build, cold cache (slow: each run compiles the standard library twice)');
  const coldCache = async () => {
    const cache = await mkdtemp(path.join(os.tmpdir(), 'bench-gocache-'));
    return { env: { ...process.env, GOCACHE: cache }, done: () => rm(cache, { recursive: true, force: true }) };
  };
  const cold = await paired(
    quick ? 1 : 3,
    async () => {
      const cache = await coldCache();
      try {
        return await timeCommand(node, [extBin, 'build'], { cwd: goProject, env: cache.env });
      } finally {
        await cache.done();
      }
    },
    async () => {
      const cache = await coldCache();
      try {
        return await bareBuild(cache.env)();
      } finally {
        await cache.done();
      }
    },
    0,
  );
  ratioRow(
    '`ext build`, cold (empty `GOCACHE`), both architectures (Go)',
    'the same two bare `go build` commands, cold, one after the other',
    cold,
    1.0,
  );
  await rm(output, { recursive: true, force: true });
}

async function typeScriptBuildFigure(tsProject: string): Promise<void> {
  log('ext build, TypeScript bundle');
  const outfile = path.join(await mkdtemp(path.join(os.tmpdir(), 'bench-esbuild-')), 'index.mjs');
  const bare = () =>
    timeCommand(
      esbuildBin,
      [
        'src/index.ts',
        '--bundle',
        '--platform=node',
        '--format=esm',
        '--target=node20',
        `--outfile=${outfile}`,
        '--log-level=warning',
      ],
      { cwd: tsProject },
    );
  ratioRow(
    '`ext build --arch x86_64`, TS bundle',
    'bare esbuild CLI on the same entry',
    await paired(runs(10), () => timeCommand(node, [extBin, 'build', '--arch', 'x86_64'], { cwd: tsProject }), bare),
    1.5,
  );
  await rm(path.dirname(outfile), { recursive: true, force: true });
}

function peakResidentMiB(pid: number): Promise<number> {
  return readFile(`/proc/${pid}/status`, 'utf8').then(
    (status) => Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024,
  );
}

/** Runs one extension against the precise fake API: start-to-register, post-invoke overhead and peak RSS. */
async function probeExtension(
  executable: string,
  invokes: number,
): Promise<{ registerMs: number; overheadMs: number[]; peakMiB: number }> {
  const api = await startFakeExtensionsApi((index) => (index < invokes ? invokeEvent(`request-${index}`) : undefined));
  const spawnedAt = process.hrtime.bigint();
  const child = spawn(executable, [], {
    env: { PATH: process.env['PATH'] ?? '', AWS_LAMBDA_RUNTIME_API: api.address },
    // Its log lines go to a pipe, as in Lambda and the emulator, not to /dev/null.
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.resume();
  child.stderr?.resume();
  try {
    await api.drained;
    const peakMiB = await peakResidentMiB(child.pid!);
    const { registerAt, eventSentAt, nextAt } = api.timings;
    // nextAt[0] is the end of init; nextAt[i + 1] answers the event sent as eventSentAt[i].
    const overheadMs = eventSentAt.map((sent, index) => Number(nextAt[index + 1]! - sent) / 1e6);
    return { registerMs: Number(registerAt[0]! - spawnedAt) / 1e6, overheadMs, peakMiB };
  } finally {
    child.kill('SIGKILL');
    await api.close();
  }
}

async function extensionFigures(goLayer: string, tsLayer: string, goName: string, tsName: string): Promise<void> {
  for (const [label, executable, registerTarget, overheadTarget, rssTarget] of [
    ['Go', path.join(goLayer, 'extensions', goName), 5, 0.5, 10],
    ['TS', path.join(tsLayer, 'extensions', tsName), 150, 2, 60],
  ] as const) {
    log(`${label} extension: start to register, overhead, peak RSS`);
    const registerTimes: number[] = [];
    for (let index = 0; index < runs(15); index += 1)
      registerTimes.push((await probeExtension(executable, 0)).registerMs);
    const registerMs = median(registerTimes);
    absoluteRow(
      `generated ${label} basic extension: process start to \`register\` received`,
      registerMs,
      'ms',
      `median ≤ ${registerTarget} ms`,
      registerMs <= registerTarget,
    );
    const long = await probeExtension(executable, 1000);
    const overhead = median(long.overheadMs);
    absoluteRow(
      `generated ${label} basic extension: post-invoke overhead (INVOKE sent until the next \`next\`)`,
      overhead,
      'ms',
      `median ≤ ${overheadTarget} ms`,
      overhead <= overheadTarget,
    );
    absoluteRow(
      `generated ${label} basic extension: peak RSS (VmHWM) over 1,000 invokes`,
      long.peakMiB,
      'MiB',
      `≤ ${rssTarget} MiB`,
      long.peakMiB <= rssTarget,
    );
  }
}

async function binarySizeFigures(goLayerRoot: string, name: string): Promise<void> {
  for (const architecture of ['x86_64', 'arm64']) {
    const bytes = (await stat(path.join(goLayerRoot, architecture, 'extensions', name))).size;
    absoluteRow(`generated Go binary size, stripped, ${architecture}`, bytes / 1024 / 1024, 'MiB', 'reported', null);
  }
}

async function emulatorFigure(goLayer: string): Promise<void> {
  log('ext dev emulator throughput');
  const invokes = quick ? 300 : 1000;
  const report = await runEmulator({ layerDirectory: goLayer, invokes, function: { durationMs: 0 } });
  if (report.status !== 'passed') throw new Error(`the emulator run failed: ${JSON.stringify(report.verdicts)}`);
  const starts = report.timeline.filter((entry) => entry.kind === 'start');
  const ends = report.timeline.filter((entry) => entry.kind === 'end');
  const seconds = (ends.at(-1)!.elapsedMs - starts[0]!.elapsedMs) / 1000;
  const perSecond = invokes / seconds;
  absoluteRow(
    '`ext dev` emulator: invokes per second, basic Go extension, zero-duration function',
    perSecond,
    'invokes/s',
    '≥ 500/s',
    perSecond >= 500,
  );
}

/** The telemetry template, scaffolded and built for x86_64 once per bench run. */
async function telemetryProject(workspace: string, language: 'go' | 'ts'): Promise<{ name: string; project: string }> {
  const name = `bench-telemetry-${language}`;
  const project = path.join(workspace, name);
  if (!existsSync(project)) {
    await timeCommand(node, [createBin, name, '--lang', language, '--template', 'telemetry', '--yes'], {
      cwd: workspace,
    });
    await timeCommand(node, [extBin, 'build', '--arch', 'x86_64'], { cwd: project });
  }
  return { name, project };
}

/**
 * Peak resident memory of a telemetry extension while the simulated function
 * prints 10,000 lines on every invoke, shipped to a local HTTP sink that is
 * healthy (every line must arrive) or dead (the bounded queue fills up). It
 * counts as bounded when the peak grows less than 10% over the second half.
 */
async function telemetryMemoryFigure(
  workspace: string,
  language: 'go' | 'ts',
  destination: 'healthy' | 'dead',
): Promise<void> {
  log(`${language} telemetry extension under 10,000 log lines per invoke, ${destination} destination`);
  const { name, project } = await telemetryProject(workspace, language);
  let functionRecords = 0;
  const sink = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const batch = JSON.parse(gunzipSync(Buffer.concat(chunks)).toString('utf8')) as { type: string }[];
      functionRecords += batch.filter((record) => record.type === 'function').length;
      response.end();
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const port = (sink.address() as AddressInfo).port;
  if (destination === 'dead') await new Promise<void>((resolve) => sink.close(() => resolve()));
  const prefix = `${name.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_`;
  const linesPerInvoke = 10_000;
  const logLines = Array.from({ length: linesPerInvoke }, (_, index) => `${index} ${'x'.repeat(80)}`);
  const emulator = new Emulator({
    layerDirectory: path.join(project, 'dist', 'x86_64'),
    function: { logLines, durationMs: 100 },
    env: { [`${prefix}SINK`]: 'http', [`${prefix}HTTP_URL`]: `http://127.0.0.1:${port}/ingest` },
  });
  const invokes = quick ? 6 : 20;
  try {
    await emulator.start();
    const pid = emulator.report().extensions[0]?.pid;
    if (pid === undefined) throw new Error(`the ${language} telemetry extension did not start`);
    const peaks: number[] = [];
    for (let index = 0; index < invokes; index += 1) {
      await emulator.invoke();
      peaks.push(await peakResidentMiB(pid));
    }
    await emulator.shutdown();
    const report = emulator.report();
    const lambdaDropped = report.telemetry.subscriptions.reduce(
      (sum, subscription) => sum + subscription.droppedRecords,
      0,
    );
    const half = peaks[Math.floor(peaks.length / 2) - 1]!;
    const peak = peaks.at(-1)!;
    const flat = peak <= half * 1.1;
    const complete = destination === 'dead' || functionRecords === linesPerInvoke * invokes;
    absoluteRow(
      `generated ${language === 'go' ? 'Go' : 'TS'} telemetry extension: peak RSS, ${invokes} invokes of ${linesPerInvoke.toLocaleString('en')} log lines, ${destination} destination`,
      peak,
      'MiB',
      'bounded (< 10% growth over the second half)',
      flat && complete && lambdaDropped === 0 && report.verdicts.length === 0,
      `${half.toFixed(1)} MiB half-way; ${destination === 'healthy' ? `${functionRecords} of ${linesPerInvoke * invokes} lines shipped; ` : ''}${lambdaDropped} dropped by the emulator`,
    );
  } finally {
    await emulator.close();
    sink.close();
  }
}

/**
 * What a slow but healthy destination costs each invoke: the sink answers
 * every batch after 200 ms, the function logs 20 lines per invoke, and the
 * figure is the median PostRuntimeExtensionsDuration. The target is one
 * round trip: a flush sends what was queued when it started, once.
 */
async function telemetrySlowSinkFigure(workspace: string, language: 'go' | 'ts'): Promise<void> {
  log(`${language} telemetry extension, post-invoke overhead with a sink answering in 200 ms`);
  const { name, project } = await telemetryProject(workspace, language);
  const sinkDelayMs = 200;
  let requests = 0;
  const sink = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      requests += 1;
      setTimeout(() => response.end(), sinkDelayMs);
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const port = (sink.address() as AddressInfo).port;
  const prefix = `${name.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_`;
  const emulator = new Emulator({
    layerDirectory: path.join(project, 'dist', 'x86_64'),
    function: { logLines: Array.from({ length: 20 }, (_, index) => `line ${index}`), durationMs: 50 },
    env: { [`${prefix}SINK`]: 'http', [`${prefix}HTTP_URL`]: `http://127.0.0.1:${port}/ingest` },
  });
  const invokes = quick ? 4 : 10;
  const overheads: number[] = [];
  try {
    await emulator.start();
    for (let index = 0; index < invokes; index += 1) {
      const result = await emulator.invoke();
      overheads.push(result.postRuntimeExtensionsDurationMs);
    }
    await emulator.shutdown();
    const overhead = median(overheads.slice(1));
    absoluteRow(
      `generated ${language === 'go' ? 'Go' : 'TS'} telemetry extension: post-invoke overhead, destination answering in ${sinkDelayMs} ms`,
      overhead,
      'ms',
      `≤ one round trip (${sinkDelayMs} ms + 50 ms)`,
      overhead <= sinkDelayMs + 50 && emulator.report().verdicts.length === 0,
      `${requests} requests for ${invokes} invokes`,
    );
  } finally {
    await emulator.close();
    sink.close();
  }
}

function formatRow(row: Row): string {
  const number = (value: number | undefined, digits = 2) => (value === undefined ? '' : value.toFixed(digits));
  const measured = row.ratio !== undefined ? `${number(row.ratio)}×` : `${number(row.value)} ${row.unit ?? ''}`;
  const absolute =
    row.medianMs !== undefined
      ? `${number(row.medianMs, 1)} ms vs ${number(row.baselineMedianMs, 1)} ms`
      : (row.note ?? '');
  const verdict = row.met === null ? '' : row.met ? 'met' : '**missed**';
  return `| ${row.figure} | ${row.baseline} | ${measured} | ${absolute} | ${row.target} | ${verdict} |`;
}

/**
 * A standalone TypeScript layer carries node itself: its zip must stay under
 * Lambda's 50 MB direct upload, with room for the bundle, hence ≤ 45 MB.
 */
async function standaloneSizeFigures(workspace: string): Promise<void> {
  log('standalone TypeScript layer zips (node bundled, stripped)');
  const name = 'bench-standalone';
  await timeCommand(node, [createBin, name, '--lang', 'ts', '--standalone', '--yes'], { cwd: workspace });
  const project = path.join(workspace, name);
  const packed = await new Promise<string>((resolve, reject) => {
    const child = spawn(node, [extBin, 'pack', '--json'], { cwd: project, stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`ext pack exited with ${code}`))));
  });
  const result = JSON.parse(packed) as {
    standalone?: { nodeVersion: string };
    notes: string[];
    layers: { architecture: string; zippedBytes: number; unzippedBytes: number }[];
  };
  const megabytes = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
  for (const layer of result.layers) {
    const stripping = result.notes.find((note) => note.startsWith(`${layer.architecture}: bundled node`)) ?? '';
    absoluteRow(
      `standalone TS layer zip, ${layer.architecture} (node ${result.standalone?.nodeVersion ?? '?'})`,
      megabytes(layer.zippedBytes),
      'MB',
      '≤ 45 MB',
      megabytes(layer.zippedBytes) <= 45,
      `${megabytes(layer.unzippedBytes)} MB unzipped; ${stripping.replace(/^\S+: /, '')}`,
    );
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const workspace = await mkdtemp(path.join(os.tmpdir(), 'bench-'));
  try {
    await startupFigures(workspace);
    const goProject = await scaffoldProject(workspace, 'bench-go', 'go');
    const tsProject = await scaffoldProject(workspace, 'bench-ts', 'ts');
    await timeCommand(node, [extBin, 'build'], { cwd: goProject });
    await timeCommand(node, [extBin, 'build'], { cwd: tsProject });
    await packFigures(goProject, 'bench-go');
    await goBuildFigures(goProject, 'bench-go');
    await typeScriptBuildFigure(tsProject);
    await extensionFigures(
      path.join(goProject, 'dist', 'x86_64'),
      path.join(tsProject, 'dist', 'x86_64'),
      'bench-go',
      'bench-ts',
    );
    await binarySizeFigures(path.join(goProject, 'dist'), 'bench-go');
    await standaloneSizeFigures(workspace);
    await emulatorFigure(path.join(goProject, 'dist', 'x86_64'));
    for (const language of ['go', 'ts'] as const) {
      await telemetryMemoryFigure(workspace, language, 'healthy');
      await telemetryMemoryFigure(workspace, language, 'dead');
      await telemetrySlowSinkFigure(workspace, language);
    }
  } finally {
    await rm(workspace, { recursive: true, force: true });
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
    rows,
  };
  await mkdir(path.join(root, 'bench', 'results'), { recursive: true });
  await writeFile(path.join(root, 'bench', 'results', 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(
    `${table}\n\n${rows.filter((row) => row.met === false).length} target(s) missed; ${results.durationSeconds.toFixed(0)} s; bench/results/latest.json\n`,
  );
}

await main();

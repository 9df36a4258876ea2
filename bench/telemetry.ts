/** The telemetry template under the emulator: memory, throughput and what a slow destination costs. */
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Emulator } from '../src/core/emulator/index.js';
import { peakResidentMiB } from './extensions.js';
import { median, timeCommand } from './measure.js';
import { absoluteRow, createBin, extBin, log, node, quick } from './rows.js';

/** The telemetry template, scaffolded and built for x86_64 once per bench run. */
export async function telemetryProject(
  workspace: string,
  language: 'go' | 'ts',
): Promise<{ name: string; project: string }> {
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
 * healthy (every line must arrive) or dead (the bounded queue fills up, then
 * drops the oldest). It counts as bounded when the peak grows less than 10%
 * over the second half.
 * The healthy run also gives the throughput: function records received by
 * the sink per second, from the first invoke until the last record arrived
 * (the shutdown flush included), with the median post-invoke overhead.
 */
export async function telemetryMemoryFigure(
  workspace: string,
  language: 'go' | 'ts',
  destination: 'healthy' | 'dead',
): Promise<void> {
  log(`${language} telemetry extension under 10,000 log lines per invoke, ${destination} destination`);
  const { name, project } = await telemetryProject(workspace, language);
  let functionRecords = 0;
  let lastRecordAt = 0;
  const sink = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const batch = JSON.parse(gunzipSync(Buffer.concat(chunks)).toString('utf8')) as { type: string }[];
      functionRecords += batch.filter((record) => record.type === 'function').length;
      lastRecordAt = performance.now();
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
  // A dead destination first fills the queue (8 MiB by default, about half of the 20 invokes of the
  // healthy run), and only a full queue shows whether the memory stays bounded: twice as many invokes.
  const invokes = (destination === 'dead' ? 2 : 1) * (quick ? 6 : 20);
  try {
    await emulator.start();
    const pid = emulator.report().extensions[0]?.pid;
    if (pid === undefined) throw new Error(`the ${language} telemetry extension did not start`);
    const peaks: number[] = [];
    const overheads: number[] = [];
    const startedAt = performance.now();
    for (let index = 0; index < invokes; index += 1) {
      overheads.push((await emulator.invoke()).postRuntimeExtensionsDurationMs);
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
    if (destination === 'healthy') {
      const perSecond = functionRecords / ((lastRecordAt - startedAt) / 1000);
      absoluteRow(
        `generated ${language === 'go' ? 'Go' : 'TS'} telemetry extension: function records per second shipped to a healthy local sink, ${linesPerInvoke.toLocaleString('en')} log lines per invoke`,
        perSecond,
        'records/s',
        'reported',
        null,
        `post-invoke overhead ${median(overheads).toFixed(0)} ms (median); ${functionRecords} of ${linesPerInvoke * invokes} lines shipped`,
      );
    }
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
export async function telemetrySlowSinkFigure(workspace: string, language: 'go' | 'ts'): Promise<void> {
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

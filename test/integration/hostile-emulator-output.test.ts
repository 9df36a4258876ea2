import assert from 'node:assert/strict';
import { scaled } from '../helpers/time-scale.js';
import { rm } from 'node:fs/promises';
import { after, test } from 'node:test';
import type { EmulatorReport } from '../../src/core/emulator/index.js';
import { BoundedTimeline, LineSplitter } from '../../src/core/emulator/output.js';
import type { TimelineEntry } from '../../src/core/emulator/types.js';
import { addFile, makeLayer } from '../helpers/emulator-fixtures.js';
import { extBin, run } from '../helpers/run-cli.js';

/** Extension output is untrusted: whatever a layer prints, `ext dev` stays small and the terminal stays ours. */

const layers: string[] = [];
after(() => Promise.all(layers.map((layer) => rm(layer, { recursive: true, force: true }))));

async function layerWithScript(name: string, script: string): Promise<string> {
  const layer = await makeLayer();
  layers.push(layer);
  await addFile(layer, name, `#!/bin/sh\n${script}\n`, 0o755);
  return layer;
}

// Prints the peak resident memory of the process it is loaded into, when that process exits.
const reportPeakMemory = `data:text/javascript,process.on('exit', () => process.stderr.write('max-rss-kb=' + process.resourceUsage().maxRSS + '\\n'))`;

test(
  '200 MB of output and a 50 MB line with no newline: memory stays bounded, the report says lines were cut',
  { timeout: scaled(60_000) },
  async () => {
    const layer = await layerWithScript(
      'flood',
      [
        // 200,000 lines of 1,000 characters, as fast as the pipe takes them.
        `yes "$(printf '%01000d' 0)" | head -c 200000000`,
        // Then one line that never ends.
        `head -c 50000000 /dev/zero | tr '\\000' y`,
      ].join('\n'),
    );
    const result = await run(
      process.execPath,
      // The flood must be read whole before Lambda's 10 s Init limit ends it: on a loaded machine, that takes longer.
      [
        '--import',
        reportPeakMemory,
        extBin,
        'dev',
        '--layer',
        layer,
        '--json',
        '--init-timeout',
        String(scaled(10_000)),
      ],
      {
        timeoutMs: 55_000,
      },
    );
    const peakKb = Number(/max-rss-kb=(\d+)/.exec(result.stderr)?.[1]);
    const report = JSON.parse(result.stdout) as EmulatorReport;
    // The script exits without registering: Lambda calls that a crash.
    assert.equal(report.status, 'failed', result.stderr);
    assert.ok(report.output.bytes >= 250_000_000 - 200_000, `${report.output.bytes} bytes counted`);
    assert.ok(report.output.linesCut >= 1, 'the 50 MB line was cut');
    assert.ok(report.output.timelineEntriesLeftOut > 100_000, `${report.output.timelineEntriesLeftOut} left out`);
    assert.ok(report.timeline.length <= 5_000, `${report.timeline.length} timeline entries kept`);
    assert.ok(
      report.timeline.some((entry) => entry.kind === 'note' && /timeline entries left out/.test(entry.text)),
      'a note marks where the timeline skips',
    );
    const cut = report.timeline.find((entry) => entry.text.includes('line cut'));
    assert.ok(cut !== undefined && cut.text.length < 20_000, 'the long line is in the timeline, cut');
    assert.match(cut.text, /line cut: \d+ more bytes left out/);
    // Node alone takes ~50 MB, a bounded run ~150 MB; holding the output took 1.4 GB.
    assert.ok(Number.isFinite(peakKb), result.stderr);
    assert.ok(peakKb < 250 * 1024, `peak memory ${Math.round(peakKb / 1024)} MB`);
  },
);

test(
  '12,000 lines of 16 KiB: the telemetry history is capped in bytes, memory stays bounded',
  { timeout: scaled(90_000) },
  async () => {
    // Each line is kept whole (just under the 16 KiB cut), so every one becomes a full-sized telemetry record.
    const layer = await layerWithScript(
      'wide',
      [
        `line="$(head -c 16000 /dev/zero | tr '\\000' w)"`,
        'i=0',
        'while [ $i -lt 12000 ]; do echo "$line"; i=$((i+1)); done',
      ].join('\n'),
    );
    const result = await run(
      process.execPath,
      ['--import', reportPeakMemory, extBin, 'dev', '--layer', layer, '--json', '--init-timeout', '80000'],
      { timeoutMs: 85_000 },
    );
    const peakKb = Number(/max-rss-kb=(\d+)/.exec(result.stderr)?.[1]);
    const report = JSON.parse(result.stdout) as EmulatorReport;
    assert.equal(report.output.lines, 12_000, result.stderr);
    assert.equal(report.output.linesCut, 0);
    assert.ok(Number.isFinite(peakKb), result.stderr);
    // docs/reference/untrusted-input.md promises under 160 MB; a generous bound, far below the 448 MB of an unbounded history.
    assert.ok(peakKb < 200 * 1024, `peak memory ${Math.round(peakKb / 1024)} MB`);
  },
);

test('LineSplitter never holds more than the cap of an endless line, and keeps lines whole below it', () => {
  const lines: [string, number][] = [];
  const splitter = new LineSplitter((line, dropped) => lines.push([line, dropped]), 8);
  splitter.write(Buffer.from('ab\r\ncdefghijkl'));
  splitter.write(Buffer.from('mnop'));
  splitter.write(Buffer.from('q\nr\rs'));
  splitter.end();
  assert.deepEqual(lines, [
    ['ab', 0],
    ['cdefghij', 7],
    ['r\rs', 0],
  ]);
});

test('BoundedTimeline keeps the first and last entries and counts the rest', () => {
  const timeline = new BoundedTimeline({ headEntries: 3, tailEntries: 2, bytesPerPart: 1_000_000 });
  for (let index = 0; index < 10; index += 1) {
    timeline.add({ elapsedMs: index, time: '', kind: 'output', text: `line ${index}` } satisfies TimelineEntry);
  }
  const texts = timeline.entries().map((entry) => entry.text);
  assert.deepEqual(texts.slice(0, 3), ['line 0', 'line 1', 'line 2']);
  assert.match(texts[3]!, /^… 5 timeline entries left out \(5 of them extension output lines\)/);
  assert.deepEqual(texts.slice(4), ['line 8', 'line 9']);
  assert.equal(timeline.entriesLeftOut, 5);
});

test(
  'ESC and CR in output and extension names reach the terminal escaped; --json keeps them raw',
  { timeout: scaled(30_000) },
  async () => {
    const name = 'evil\x1b[31m';
    const layer = await layerWithScript(name, `printf 'ok\\033[2J\\rno problems found\\n'`);
    const terminal = await run(process.execPath, [extBin, 'dev', '--layer', layer], { timeoutMs: 25_000 });
    assert.equal(terminal.code, 1, terminal.stderr);
    assert.ok(!terminal.stdout.includes('\u001b') && !terminal.stdout.includes('\r'), 'no raw ESC or CR on stdout');
    assert.ok(!terminal.stderr.includes('\u001b') && !terminal.stderr.includes('\r'), 'no raw ESC or CR on stderr');
    assert.match(terminal.stdout, /\[evil\\x1b\[31m\] ok\\x1b\[2J\\x0dno problems found/);
    const json = await run(process.execPath, [extBin, 'dev', '--layer', layer, '--json'], { timeoutMs: 25_000 });
    const report = JSON.parse(json.stdout) as EmulatorReport;
    assert.ok(report.timeline.some((entry) => entry.text === `[${name}] ok\x1b[2J\rno problems found`));
  },
);

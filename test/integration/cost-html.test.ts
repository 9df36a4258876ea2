import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { inflateSync } from 'node:zlib';
import type { CostReport } from '../../src/core/cost/index.js';
import { temporaryFolders } from '../helpers/paths.js';
import { describeRun, repositoryRoot, run, runExt } from '../helpers/run-cli.js';
import { scaled } from '../helpers/time-scale.js';

/**
 * The `ext cost --html` page in a real headless Chromium (Debian's `chromium`; .ci/run installs it): it renders
 * without a console message, the figures it shows are those of --json, and its screenshot is not blank.
 */

const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((candidate) =>
  existsSync(candidate),
);
if (chromium === undefined) process.stdout.write('# skipping the ext cost page tests: no chromium on this machine\n');

const folder = temporaryFolders();
const fixtures = path.join(repositoryRoot, 'test', 'fixtures', 'cost');

/** Runs headless Chromium on a local file with console messages on stderr (as `INFO:CONSOLE` lines). */
async function headless(file: string, extra: string[]) {
  const profile = await folder('cle-cost-chromium-');
  return run(
    chromium!,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--no-first-run',
      `--user-data-dir=${profile}`,
      '--enable-logging=stderr',
      '--v=0',
      ...extra,
      `file://${file}`,
    ],
    { timeoutMs: 90_000 },
  );
}

const consoleLines = (stderr: string) => stderr.split('\n').filter((line) => /:CONSOLE[:(]/u.test(line));

/** The distinct colours of a PNG (8-bit RGB or RGBA, not interlaced), counted over every pixel. */
function pngColours(png: Buffer): { colours: number; commonest: number; pixels: number } {
  assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const data: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const body = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      assert.equal(body[8], 8, 'bit depth 8');
      channels = body[9] === 6 ? 4 : body[9] === 2 ? 3 : 0;
      assert.ok(channels > 0 && body[12] === 0, 'RGB(A), not interlaced');
    } else if (type === 'IDAT') data.push(body);
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(data));
  const stride = width * channels;
  const previous = Buffer.alloc(stride);
  const row = Buffer.alloc(stride);
  const counts = new Map<number, number>();
  for (let y = 0; y < height; y += 1) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x += 1) {
      const left = x >= channels ? row[x - channels]! : 0;
      const up = previous[x]!;
      const upLeft = x >= channels ? previous[x - channels]! : 0;
      const paeth = () => {
        const p = left + up - upLeft;
        const [a, b, c] = [Math.abs(p - left), Math.abs(p - up), Math.abs(p - upLeft)];
        return a <= b && a <= c ? left : b <= c ? up : upLeft;
      };
      const predictor = [0, left, up, (left + up) >> 1, filter === 4 ? paeth() : 0][filter]!;
      row[x] = (line[x]! + predictor) & 0xff;
    }
    for (let x = 0; x < stride; x += channels) {
      const colour = (row[x]! << 16) | (row[x + 1]! << 8) | row[x + 2]!;
      counts.set(colour, (counts.get(colour) ?? 0) + 1);
    }
    row.copy(previous);
  }
  return { colours: counts.size, commonest: Math.max(...counts.values()), pixels: width * height };
}

/** What the page must show for each figure it marks, read from --json, as the page rounds: two decimals. */
function expectedFigures(report: CostReport): Record<string, string> {
  const { figures } = report;
  const shown = (value: number) => value.toFixed(2);
  return {
    'initAddedMs.p50': shown(figures.initAddedMs.p50),
    'initAddedMs.p99': shown(figures.initAddedMs.p99),
    'postRuntimeMs.p50': shown(figures.postRuntimeMs.p50),
    'postRuntimeMs.p99': shown(figures.postRuntimeMs.p99),
    'postRuntimeMs.max': shown(figures.postRuntimeMs.max),
    'functionMs.p50': shown(figures.functionMs.layer.p50),
    'functionMs.changeMs': shown(figures.functionMs.changeMs),
    'memory.extensionPeakMiB': shown(figures.memory.extensionPeakMiB),
    'memory.environmentPeakMiB': shown(figures.memory.environmentPeakMiB.layer),
    'memory.shareOfFunctionPercent': shown(figures.memory.shareOfFunctionPercent),
    'soak.memory.slopePer1000': shown(report.soak!.memory.slopePer1000),
    'soak.postRuntime.lastQuarter': shown(report.soak!.postRuntime.lastQuarter),
  };
}

describe('the ext cost page in headless Chromium', { skip: chromium === undefined, timeout: scaled(300_000) }, () => {
  it('catches console messages, as the check below relies on', async () => {
    const page = path.join(await folder('cle-cost-control-'), 'bad.html');
    await writeFile(page, '<!doctype html><p>x</p><script>console.error("control-message")</script>');
    const result = await headless(page, ['--dump-dom']);
    assert.ok(
      consoleLines(result.stderr).some((line) => line.includes('control-message')),
      describeRun(result),
    );
  });

  it('renders without console messages, shows the figures of --json, and is not blank', async () => {
    const output = await folder('cle-cost-page-');
    const page = path.join(output, 'cost.html');
    const json = await runExt(
      [
        'cost',
        '--layer',
        path.join(fixtures, 'leaky'),
        '--cold-starts',
        '2',
        '--invokes',
        '4',
        '--soak',
        '40',
        '--json',
        '--html',
        page,
      ],
      { timeoutMs: 120_000 },
    );
    // The leak fails the soak; the page is written all the same, with the verdict on it.
    assert.equal(json.code, 1, describeRun(json));
    const report = JSON.parse(json.stdout) as CostReport;

    const dom = await headless(page, ['--dump-dom']);
    assert.equal(dom.code, 0, describeRun(dom));
    assert.deepEqual(consoleLines(dom.stderr), []);
    const shown = Object.fromEntries(
      [...dom.stdout.matchAll(/data-figure="([^"]+)">([^<]*)</gu)].map((match) => [match[1]!, match[2]!]),
    );
    const expected = expectedFigures(report);
    for (const [key, value] of Object.entries(expected)) assert.equal(shown[key], value, key);
    assert.equal(report.status, 'failed');
    assert.match(dom.stdout, /data-status="failed"/);
    assert.match(dom.stdout, /data-soak-verdict="memory-growth"/);
    assert.match(dom.stdout, /<svg class="timeline"/);
    assert.match(dom.stdout, /<svg id="soak-memory"/);

    const screenshot = path.join(output, 'cost.png');
    const shot = await headless(page, [`--screenshot=${screenshot}`, '--window-size=1100,1600', '--hide-scrollbars']);
    assert.equal(shot.code, 0, describeRun(shot));
    assert.deepEqual(consoleLines(shot.stderr), []);
    const { colours, commonest, pixels } = pngColours(await readFile(screenshot));
    // Text, the table's rules, the coloured spans and the charts: many colours, and the background not all of it.
    assert.ok(colours >= 50, `${colours} colours`);
    assert.ok(commonest / pixels < 0.97, `the commonest colour covers ${((commonest / pixels) * 100).toFixed(1)} %`);
  });
});

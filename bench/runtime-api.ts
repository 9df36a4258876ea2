/**
 * The Runtime API's round trip per invoke (next → response → next) under `ext dev`'s emulator against AWS's RIE,
 * in the same run, alternately. Both run the same runtime: a Go loop on the standard library (built here once),
 * which answers every invoke with `{}` at once and stamps the time each `next` returns; the figure is the median
 * interval between two `next` returns, so it holds everything the platform does for one invoke and nothing of how
 * each side is driven. No extensions on either side: this is the Runtime API alone.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runEmulator } from '../src/core/emulator/index.js';
import { rieBinary, runFunctionUnderRie } from '../test/helpers/rie.js';
import { median, paired, timeCommand } from './measure.js';
import { log, quick, ratioRow, runs } from './rows.js';

const loopSource = `package main

import (
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// A runtime that answers every invoke at once and, after BENCH_INVOKES invokes, writes the time each next
// returned (ns, one a line) to BENCH_RESULT_FILE.
func main() {
	api := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/invocation/"
	invokes, _ := strconv.Atoi(os.Getenv("BENCH_INVOKES"))
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableCompression: true, MaxIdleConnsPerHost: 4}}
	stamps := make([]string, 0, invokes)
	for {
		next, err := client.Get(api + "next")
		if err != nil {
			os.Exit(1)
		}
		io.Copy(io.Discard, next.Body)
		next.Body.Close()
		stamps = append(stamps, strconv.FormatInt(time.Now().UnixNano(), 10))
		if len(stamps) == invokes {
			os.WriteFile(os.Getenv("BENCH_RESULT_FILE"), []byte(strings.Join(stamps, "\\n")), 0o644)
		}
		id := next.Header.Get("Lambda-Runtime-Aws-Request-Id")
		response, err := client.Post(api+id+"/response", "application/json", strings.NewReader("{}"))
		if err != nil {
			os.Exit(1)
		}
		io.Copy(io.Discard, response.Body)
		response.Body.Close()
	}
}
`;

/** The first invokes include Init and warm-up (connections, Go's and V8's first runs): left out of the median. */
const warmupInvokes = 20;

async function buildLoop(workspace: string): Promise<string> {
  const source = path.join(workspace, 'runtime-loop');
  await mkdir(source, { recursive: true });
  await writeFile(path.join(source, 'go.mod'), 'module runtimeloop\n\ngo 1.21\n');
  await writeFile(path.join(source, 'main.go'), loopSource);
  const task = path.join(workspace, 'runtime-loop-task');
  await mkdir(task, { recursive: true });
  await timeCommand('go', ['build', '-trimpath', '-o', path.join(task, 'bootstrap'), '.'], {
    cwd: source,
    env: { ...process.env, CGO_ENABLED: '0', GOOS: 'linux' },
  });
  return task;
}

async function medianInterval(file: string): Promise<number> {
  const stamps = (await readFile(file, 'utf8')).trim().split('\n').map(Number);
  const intervals = stamps
    .slice(warmupInvokes + 1)
    .map((stamp, index) => (stamp - stamps[warmupInvokes + index]!) / 1e6);
  return median(intervals);
}

export async function runtimeApiFigure(workspace: string): Promise<void> {
  const availability = await rieBinary();
  if ('skip' in availability) {
    log(`Runtime API round trip: skipped, ${availability.skip}`);
    return;
  }
  log('Runtime API round trip per invoke: ext dev against RIE');
  const task = await buildLoop(workspace);
  const invokes = quick ? 200 : 1000;
  const emptyLayer = await mkdtemp(path.join(os.tmpdir(), 'bench-runtime-api-layer-'));
  await mkdir(path.join(emptyLayer, 'extensions'));
  const resultFile = path.join(workspace, 'runtime-loop-stamps');
  const environment = { BENCH_INVOKES: String(invokes), BENCH_RESULT_FILE: resultFile };
  const events = Array.from({ length: invokes }, () => ({ payload: '{}' }));
  try {
    const underDev = async (): Promise<number> => {
      await rm(resultFile, { force: true });
      const report = await runEmulator({
        layerDirectory: emptyLayer,
        runtime: {
          command: path.join(task, 'bootstrap'),
          args: [],
          env: { PATH: process.env['PATH'] ?? '', LAMBDA_TASK_ROOT: task, ...environment },
          cwd: task,
          description: 'provided.al2023 (the bench runtime loop)',
        },
        events,
        invokes,
      });
      if (report.status !== 'passed') throw new Error(`the emulator run failed: ${JSON.stringify(report.verdicts)}`);
      return medianInterval(resultFile);
    };
    const underRie = async (): Promise<number> => {
      await rm(resultFile, { force: true });
      const run = await runFunctionUnderRie(availability.binary, {
        taskDirectory: task,
        events: events.map((event) => event.payload),
        env: environment,
        keepAlive: true,
      });
      const failed = run.invokes.find((answer) => answer.status !== 200);
      if (failed !== undefined || run.invokes.length !== invokes) {
        throw new Error(`the RIE run failed (${failed?.status ?? run.invokes.length}): ${run.log.slice(-2000)}`);
      }
      return medianInterval(resultFile);
    };
    const result = await paired(runs(7), underDev, underRie);
    ratioRow(
      `Runtime API round trip per invoke (next → response → next), ${invokes.toLocaleString('en')} invokes, no extensions`,
      "AWS's RIE (pinned), the same Go runtime loop",
      result,
      1.0,
      `medians of ${result.runs} alternating runs each`,
    );
  } finally {
    await rm(emptyLayer, { recursive: true, force: true });
  }
}

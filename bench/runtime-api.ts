/**
 * The Runtime API's round trip per invoke (next → response → next) under `ext dev`'s emulator against AWS's RIE,
 * in the same run, alternately. Both run the same runtime: a Go loop on the standard library (built here once),
 * which answers every invoke with `{}` at once and stamps the time each `next` returns; the figure is the median
 * interval between two `next` returns, so it holds everything the platform does for one invoke and nothing of how
 * each side is driven. `ext dev` needs an extension in the layer: both sides get the same one, the same binary
 * again, registered for SHUTDOWN only, so that no extension takes part in an invoke: this is the Runtime API alone.
 */
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
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
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// As /var/task/bootstrap: a runtime that answers every invoke at once and, after BENCH_INVOKES invokes, writes
// the time each next returned (ns, one a line) to BENCH_RESULT_FILE. Under any other name: an extension that
// registers for SHUTDOWN only and waits for it.
func main() {
	if filepath.Base(os.Args[0]) != "bootstrap" {
		extension()
		return
	}
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

func extension() {
	api := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2020-01-01/extension/"
	register, _ := http.NewRequest("POST", api+"register", strings.NewReader(\`{"events":["SHUTDOWN"]}\`))
	register.Header.Set("Lambda-Extension-Name", filepath.Base(os.Args[0]))
	registered, err := http.DefaultClient.Do(register)
	if err != nil || registered.StatusCode != 200 {
		os.Exit(1)
	}
	next, _ := http.NewRequest("GET", api+"event/next", nil)
	next.Header.Set("Lambda-Extension-Identifier", registered.Header.Get("Lambda-Extension-Identifier"))
	if _, err := http.DefaultClient.Do(next); err != nil {
		os.Exit(1)
	}
}
`;

/** The first invokes include Init and warm-up (connections, Go's and V8's first runs): left out of the median. */
const warmupInvokes = 50;

/** The loop, built once: the task folder (its bootstrap) and the layer (the same binary as an extension). */
async function buildLoop(workspace: string): Promise<{ task: string; layer: string }> {
  const source = path.join(workspace, 'runtime-loop');
  await mkdir(source, { recursive: true });
  await writeFile(path.join(source, 'go.mod'), 'module runtimeloop\n\ngo 1.21\n');
  await writeFile(path.join(source, 'main.go'), loopSource);
  const task = path.join(workspace, 'runtime-loop-task');
  const layer = path.join(workspace, 'runtime-loop-layer');
  await mkdir(task, { recursive: true });
  await mkdir(path.join(layer, 'extensions'), { recursive: true });
  await timeCommand('go', ['build', '-trimpath', '-o', path.join(task, 'bootstrap'), '.'], {
    cwd: source,
    env: { ...process.env, CGO_ENABLED: '0', GOOS: 'linux' },
  });
  await copyFile(path.join(task, 'bootstrap'), path.join(layer, 'extensions', 'idle'));
  return { task, layer };
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
  const { task, layer } = await buildLoop(workspace);
  const invokes = quick ? 400 : 1000;
  const resultFile = path.join(workspace, 'runtime-loop-stamps');
  const environment = { BENCH_INVOKES: String(invokes), BENCH_RESULT_FILE: resultFile };
  const events = Array.from({ length: invokes }, () => ({ payload: '{}' }));
  const underDev = async (): Promise<number> => {
    await rm(resultFile, { force: true });
    const report = await runEmulator({
      layerDirectory: layer,
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
      layerDirectory: layer,
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
    `Runtime API round trip per invoke (next → response → next), ${invokes.toLocaleString('en')} invokes, no extension in the invoke`,
    "AWS's RIE (pinned), the same Go runtime loop",
    result,
    1.0,
    `medians of ${result.runs} alternating runs each`,
  );
}

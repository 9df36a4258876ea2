import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/**
 * `node build/scripts/go-mutants.js [--only PATTERN] [--keep]`: the Go
 * templates' mutation score. It scaffolds each Go template (basic, and
 * telemetry with and without INVOKE), then applies one mutant at a time to
 * the generated code and runs the project's own test command, `go test
 * ./...` (unchanged packages come from Go's test cache). A mutant is killed
 * when the tests fail, or do not end within the time limit. It prints each
 * result, the score, and the survivors with the reason each is expected to
 * survive; it exits 1 when a mutant survives that is not expected to, a
 * mutant no longer matches the code (the template changed under it), or a
 * mutant does not compile (it would be killed without a test).
 *
 * Not part of `npm test`: with a cold build cache it takes tens of minutes.
 */
interface Mutant {
  /** Which generated project: the template, and for telemetry the events. */
  project: 'basic' | 'telemetry' | 'telemetry-shutdown';
  file: string;
  /** Exact text, found once in the file, and what it becomes. */
  from: string;
  to: string;
  what: string;
  /** Why the tests cannot tell this mutant from the original: the mutant is expected to survive. */
  survives?: string;
}

const mutants: Mutant[] = [
  // --- basic: the Extensions API client and the lifecycle
  {
    project: 'basic',
    file: 'extension/client.go',
    from: 'response.StatusCode < 200 || response.StatusCode > 299',
    to: 'response.StatusCode < 200 || response.StatusCode > 499',
    what: 'a 4xx from the Extensions API counts as success',
  },
  {
    project: 'basic',
    file: 'extension/client.go',
    from: '\tif identifier == "" {\n\t\treturn nil, ErrNoIdentifier',
    to: '\tif false {\n\t\treturn nil, ErrNoIdentifier',
    what: 'register accepts an answer without Lambda-Extension-Identifier',
  },
  {
    project: 'basic',
    file: 'extension/client.go',
    from: '\tif e.DeadlineMs <= 0 {\n\t\treturn time.Now().Add(FallbackDeadline)',
    to: '\tif e.DeadlineMs < 0 {\n\t\treturn time.Now().Add(FallbackDeadline)',
    what: 'a missing deadlineMs (0) is taken as 1970',
  },
  {
    project: 'basic',
    file: 'extension/client.go',
    from: 'return strings.EqualFold(string(r), string(other))',
    to: 'return string(r) == string(other)',
    what: 'shutdownReason compared case-sensitively (spindown vs SPINDOWN)',
  },
  {
    project: 'basic',
    file: 'extension/deadline.go',
    from: 'parent.Before(c.deadline)',
    to: 'parent.After(c.deadline)',
    what: "the lazy deadline ignores an earlier parent's deadline",
  },
  {
    project: 'basic',
    file: 'main.go',
    from: 'getenv("AWS_LAMBDA_INITIALIZATION_TYPE") == "lambda-managed-instances"',
    to: 'getenv("AWS_LAMBDA_INITIALIZATION_TYPE") == "managed-instances"',
    what: 'Managed Instances not recognised from AWS_LAMBDA_INITIALIZATION_TYPE',
  },
  // --- telemetry: queue, listener, subscription, settings
  {
    project: 'telemetry',
    file: 'telemetry/queue.go',
    from: 'for len(q.records)-q.head-count > q.maxRecords || q.bytes > q.maxBytes {',
    to: 'for len(q.records)-q.head-count > q.maxRecords {',
    what: 'the queue ignores its byte limit',
  },
  {
    project: 'telemetry',
    file: 'telemetry/queue.go',
    from: 'if count > 0 && size+next > maxBytes {',
    to: 'if count > 0 && size > maxBytes {',
    what: 'a batch may pass its byte limit by one record',
  },
  {
    project: 'telemetry',
    file: 'telemetry/listener.go',
    from: '\t\tif l.own.Matches(&records[index]) {',
    to: '\t\tif false && l.own.Matches(&records[index]) {',
    what: 'own output shipped again (feedback loop)',
  },
  {
    project: 'telemetry',
    file: 'telemetry/listener.go',
    from: "if delimiter, ok := token.(json.Delim); !ok || delimiter != '[' {",
    to: "if delimiter, ok := token.(json.Delim); ok && delimiter == '{' {",
    what: 'a delivery that does not start as a JSON array is decoded on',
    survives:
      'equivalent: the element decode or the closing token refuses every such body all the same; the check only says why sooner',
  },
  {
    project: 'telemetry',
    file: 'telemetry/listener.go',
    from: '\t\tl.rejected.Add(1)\n',
    to: '',
    what: 'refused deliveries not counted',
  },
  {
    project: 'telemetry',
    file: 'telemetry/subscribe.go',
    from: '\tcase http.StatusAccepted:\n\t\treturn false, nil',
    to: '\tcase http.StatusAccepted:\n\t\treturn true, nil',
    what: 'a 202 (local environment, no delivery) is not noticed',
  },
  {
    project: 'telemetry',
    file: 'config.go',
    from: 'if settings.port == reservedPort {',
    to: 'if settings.port == -1 {',
    what: 'port 9001 accepted',
  },
  {
    project: 'telemetry',
    file: 'config.go',
    from: 'if allowed := memoryMB << 20 / memoryPerQueuedByte; settings.queueBytes > allowed {',
    to: 'if allowed := memoryMB << 20; settings.queueBytes > allowed {',
    what: "the queue may take all of the function's memory",
  },
  // --- telemetry: the shipper
  {
    project: 'telemetry',
    file: 'sink/shipper.go',
    from: '\t\tif s.failing && s.now().Before(s.pausedUntil) {\n\t\t\treturn ErrPaused',
    to: '\t\tif false && s.now().Before(s.pausedUntil) {\n\t\t\treturn ErrPaused',
    what: 'no pause after a failure: every invoke waits for a dead destination',
  },
  {
    project: 'telemetry',
    file: 'sink/shipper.go',
    from: 's.coolDown = min(2*s.coolDown, s.retry.MaxCoolDown)',
    to: 's.coolDown = min(s.coolDown, s.retry.MaxCoolDown)',
    what: 'the cool-down does not double',
  },
  {
    project: 'telemetry',
    file: 'sink/shipper.go',
    from: '\t} else {\n\t\tattempts = s.retry.Attempts\n\t}',
    to: '\t}',
    what: 'the final flush does not retry',
  },
  {
    project: 'telemetry',
    file: 'sink/shipper.go',
    from: 'if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {',
    to: 'if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= 0 {',
    what: 'a backoff wait may run past the deadline',
  },
  {
    project: 'telemetry',
    file: 'sink/shipper.go',
    from: '\tcase IsPermanent(err) || IsTooLarge(err):\n\t\t// The destination answered: it is up, but refuses these records.\n\t\ts.counts.Discarded += int64(len(batch))\n\t\treturn nil, nil',
    to: '\tcase IsPermanent(err) || IsTooLarge(err):\n\t\treturn batch, err',
    what: 'a refused batch blocks the queue instead of being discarded',
  },
  {
    project: 'telemetry',
    file: 'sink/shipper.go',
    from: 'if queued < s.batching.MinRecords && s.now().Sub(s.lastRound) < s.batching.MaxWait {',
    to: 'if queued < s.batching.MinRecords {',
    what: 'FLUSH_MAX_WAIT_MS ignored',
  },
  {
    project: 'telemetry',
    file: 'sink/shipper.go',
    from: '\t\t\tlimit = min(limit, round)\n',
    to: '',
    what: "an invoke's round chases records that arrive during it",
  },
  {
    project: 'telemetry',
    file: 'sink/http.go',
    from: '\tcase response.StatusCode == http.StatusRequestEntityTooLarge:\n\t\treturn TooLarge(failure)',
    to: '\tcase response.StatusCode == http.StatusRequestEntityTooLarge:\n\t\treturn Permanent(failure)',
    what: '413 discards the batch instead of splitting it',
  },
  {
    project: 'telemetry',
    file: 'sink/http.go',
    from: '\t\tresponse.StatusCode == http.StatusUnauthorized,\n',
    to: '',
    what: '401 discards the batch instead of keeping it',
  },
  // --- telemetry: the pipeline and the lifecycle
  {
    project: 'telemetry',
    file: 'pipeline.go',
    from: 'return max(0, min(max(bufferTimeout+finalBatchSlack, finalBatchMinWait), left/2))',
    to: 'return max(0, min(max(bufferTimeout+finalBatchSlack, finalBatchMinWait), left))',
    what: 'the wait for the last delivery may take all the time left',
  },
  {
    project: 'telemetry',
    file: 'main.go',
    from: 'event.Deadline().Add(-deadlineMargin)',
    to: 'event.Deadline()',
    what: "an invoke's flush may run to the function's deadline",
  },
  {
    project: 'telemetry-shutdown',
    file: 'main.go',
    from: '\t\t\tstopTimer() // before the last flush: the shipper is not for concurrent use',
    to: '',
    what: 'the timer may flush beside the last flush after a failed event/next',
    survives:
      'a data race that needs a timer round in flight at that very moment, and go test -race to see it: no deterministic test',
  },
  // --- issue 25's fixes, each reverted
  {
    project: 'telemetry',
    file: 'sink/http.go',
    from: '\t\t\tCheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },\n',
    to: '',
    what: '25.1: redirects followed (a POST becomes a bodiless GET that counts as shipped)',
  },
  {
    project: 'telemetry',
    file: 'sink/http.go',
    from: '\tcase response.StatusCode >= 300 && response.StatusCode <= 399:',
    to: '\tcase response.StatusCode >= 300 && response.StatusCode <= 399 && false:',
    what: '25.1: a 3xx discards the batch instead of keeping it and pausing',
  },
  {
    project: 'telemetry',
    file: 'config.go',
    from: 'defaultPort        = 0',
    to: 'defaultPort        = 4243',
    what: '25.3: a fixed default port (two such extensions collide)',
  },
  {
    project: 'telemetry',
    file: 'pipeline.go',
    from: 'return net.Listen("tcp", net.JoinHostPort("127.0.0.1", portText))',
    to: 'return net.Listen("tcp", net.JoinHostPort("", portText))',
    what: '24.5: the listener binds every interface outside Lambda',
  },
  {
    project: 'telemetry',
    file: 'pipeline.go',
    from: 'if ip := net.ParseIP(address); ip == nil || ip.IsUnspecified() {',
    to: 'if ip := net.ParseIP(address); ip == nil {',
    what: '24.5: a sandbox.localdomain resolving to 0.0.0.0 binds every interface',
  },
  {
    project: 'telemetry',
    file: 'pipeline.go',
    from: '\t\t// Everything queued, including what arrives while it ships.\n\t\tp.flush(ctx, true)\n',
    to: '',
    what: '25.5: SHUTDOWN waits for the last delivery before shipping the backlog',
  },
  {
    project: 'telemetry',
    file: 'pipeline.go',
    from: '\t\t// What came with the end of the wait is shipped too.\n\t\tp.flush(ctx, true)\n',
    to: '',
    what: '25.5: what the last delivery brought is not shipped',
  },
  {
    project: 'telemetry',
    file: 'sink/http.go',
    from: 'request.Header.Set(IdempotencyKeyHeader, key)',
    to: 'request.Header.Set(IdempotencyKeyHeader, key[:0])',
    what: '25.6: no idempotency key',
  },
  {
    project: 'telemetry',
    file: 'sink/shipper.go',
    from: '\t\t\ts.resend = len(unsent)\n',
    to: '',
    what: '25.6: a failed batch goes again with other records (another key)',
  },
  {
    project: 'telemetry',
    file: 'telemetry/listener.go',
    from: '\t\t\tl.lambdaDropped.Add(droppedRecords(records[index].Record))\n',
    to: '',
    what: '25.10: platform.logsDropped not counted',
  },
  {
    project: 'telemetry',
    file: 'pipeline.go',
    from: 'since.rejected > 0 || since.droppedByLambda > 0 {',
    to: 'since.rejected > 0 {',
    what: "25.10: records Lambda dropped do not make the invoke's line a warning",
  },
  {
    project: 'telemetry',
    file: 'pipeline.go',
    from: 'queued > 0 || now.droppedByLambda > 0 {',
    to: 'queued > 0 {',
    what: '25.10: records Lambda dropped do not make the totals a warning',
  },
  {
    project: 'telemetry',
    file: 'sink/shipper.go',
    from: 'pause := max(s.coolDown, RetryAfterOf(err))',
    to: 'pause := s.coolDown',
    what: "25.11: Retry-After ignored by invokes' pause",
  },
  {
    project: 'telemetry',
    file: 'sink/shipper.go',
    from: 'wait := max(jitter(backoff), RetryAfterOf(err))',
    to: 'wait := jitter(backoff)',
    what: "25.11: Retry-After ignored between a final flush's retries",
  },
  {
    project: 'telemetry',
    file: 'sink/http.go',
    from: '\t\twait = date.Sub(now)',
    to: '\t\twait = date.Sub(date)',
    what: '25.11: Retry-After as an HTTP date ignored',
  },
  {
    project: 'telemetry',
    file: 'sink/http.go',
    from: '\treturn max(0, min(wait, MaxRetryAfter))',
    to: '\treturn max(0, wait)',
    what: '25.11: an unbounded Retry-After date',
  },
  {
    project: 'telemetry',
    file: 'pipeline.go',
    from: 'lookupCtx, cancel := context.WithTimeout(ctx, lookupTimeout)',
    to: 'lookupCtx, cancel := context.WithCancel(ctx)',
    what: '24.5: the lookup of sandbox.localdomain is not bounded',
    survives:
      'only a resolver that hangs tells it apart, and a test of it would be a timed one; the bound is plain in the code',
  },
];

const { values } = parseArgs({
  options: {
    only: { type: 'string', multiple: true },
    keep: { type: 'boolean', default: false },
    'time-limit': { type: 'string', default: '300' },
  },
});
const timeLimitMs = Number(values['time-limit']) * 1000;
const selected = mutants.filter(
  (mutant) => values.only === undefined || values.only.some((only) => `${mutant.file} ${mutant.what}`.includes(only)),
);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const workspace = await mkdtemp(path.join(os.tmpdir(), 'cle-go-mutants-'));

function run(
  command: string,
  args: string[],
  cwd: string,
  limitMs: number,
): Promise<{ code: number | null; output: string; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // The whole group: go test's test binaries too.
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, limitMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, timedOut });
    });
  });
}

const projects = new Map<Mutant['project'], string>();
async function project(kind: Mutant['project']): Promise<string> {
  const existing = projects.get(kind);
  if (existing !== undefined) return existing;
  const directory = path.join(workspace, kind);
  const template = kind === 'basic' ? 'basic' : 'telemetry';
  const events = kind === 'telemetry-shutdown' ? 'SHUTDOWN' : 'INVOKE,SHUTDOWN';
  const args = [path.join(root, 'bin', 'create-lambda-extension.js'), directory, '--lang', 'go'];
  args.push('--template', template, '--events', events, '--name', 'my-ext', '--yes');
  const created = await run(process.execPath, args, workspace, 120_000);
  if (created.code !== 0) throw new Error(`create ${kind} failed:\n${created.output}`);
  const baseline = await run('go', ['test', './...'], directory, timeLimitMs);
  if (baseline.code !== 0) throw new Error(`the unmutated ${kind} project fails its tests:\n${baseline.output}`);
  projects.set(kind, directory);
  return directory;
}

let killed = 0;
const survivors: Mutant[] = [];
const stale: Mutant[] = [];
// A mutant that does not compile says nothing about the tests: it is reported and not counted.
const invalid: Mutant[] = [];
try {
  for (const mutant of selected) {
    const directory = await project(mutant.project);
    const file = path.join(directory, mutant.file);
    const original = await readFile(file, 'utf8');
    const occurrences = original.split(mutant.from).length - 1;
    if (occurrences !== 1) {
      stale.push(mutant);
      console.log(`STALE    ${mutant.project}/${mutant.file}: ${mutant.what} (found ${occurrences} times)`);
      continue;
    }
    await writeFile(
      file,
      original.replace(mutant.from, () => mutant.to),
    );
    const started = Date.now();
    let result;
    try {
      result = await run('go', ['test', './...'], directory, timeLimitMs);
    } finally {
      await writeFile(file, original);
    }
    const seconds = Math.round((Date.now() - started) / 1000);
    if (/\[build failed\]|\[setup failed\]/u.test(result.output)) {
      invalid.push(mutant);
      console.log(`INVALID  ${mutant.project}/${mutant.file}: ${mutant.what} (does not compile)`);
      continue;
    }
    const caught = result.code !== 0;
    if (caught) killed += 1;
    else survivors.push(mutant);
    const verdict = caught ? (result.timedOut ? 'KILLED*' : 'KILLED ') : 'SURVIVED';
    console.log(`${verdict} ${mutant.project}/${mutant.file}: ${mutant.what} (${seconds} s)`);
  }
} finally {
  if (values.keep) console.log(`projects kept in ${workspace}`);
  else await rm(workspace, { recursive: true, force: true });
}

const tried = selected.length - stale.length - invalid.length;
console.log(`\n${killed} of ${tried} mutants killed (${tried === 0 ? 0 : Math.round((100 * killed) / tried)} %)`);
for (const survivor of survivors) {
  console.log(`survivor: ${survivor.project}/${survivor.file}: ${survivor.what}`);
  console.log(`  ${survivor.survives ?? 'NOT EXPECTED: add a test that kills it'}`);
}
const unexpected = survivors.filter((survivor) => survivor.survives === undefined);
process.exitCode = unexpected.length > 0 || stale.length > 0 || invalid.length > 0 ? 1 : 0;

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { scaffold } from '../src/core/create/index.js';

/**
 * `npm run build && node build/scripts/mutation-ts.js [--template basic|telemetry] [--only ID]... [--check]`:
 * the generated TypeScript projects' mutation score. It scaffolds each
 * project into a temporary folder (its node_modules a link to this
 * checkout's, which holds typescript, fast-check and @types/node), checks
 * that its own `npm test` passes, then applies one deliberate change at a
 * time to a file in src/ and runs its tests again (see `npmTest`): a failing
 * run kills the mutant, a passing one lets it survive. Each mutant takes one
 * compile and test run (a minute or more on a loaded machine), so this stays
 * out of `npm test`.
 */

interface Mutant {
  id: string;
  file: string;
  /** Must occur exactly once in the file. */
  find: string;
  replace: string;
  what: string;
}

const basic: Mutant[] = [
  {
    id: 'B1',
    file: 'src/extension.ts',
    find: "return onManagedInstances(env) ? ['SHUTDOWN'] : [...events];",
    replace: 'return [...events];',
    what: 'registers INVOKE on Managed Instances',
  },
  {
    id: 'B2',
    file: 'src/extension.ts',
    find: " || env['AWS_LAMBDA_INITIALIZATION_TYPE'] === 'lambda-managed-instances'",
    replace: '',
    what: 'ignores AWS_LAMBDA_INITIALIZATION_TYPE',
  },
  {
    id: 'B3',
    file: 'src/extension.ts',
    find: '    await report(log, client.initError(errorType, error));\n',
    replace: '',
    what: 'no init/error when setup fails',
  },
  {
    id: 'B4',
    file: 'src/extension.ts',
    find: "const errorType = expected ? error.errorType : 'Extension.UnknownReason';",
    replace: "const errorType = 'Extension.UnknownReason';",
    what: "drops the handler's error type",
  },
  {
    id: 'B5',
    file: 'src/extension.ts',
    find: "await bounded('shutdown', log, deadlineMs - margin,",
    replace: "await bounded('shutdown', log, deadlineMs + margin,",
    what: 'shutdown work runs past the deadline',
  },
  {
    id: 'B6',
    file: 'src/extension.ts',
    find: 'const timer = setTimeout(stop, Math.max(0, deadline - Date.now()));',
    replace: 'const timer = setTimeout(stop, Math.max(0, deadline - Date.now()) * 10);',
    what: 'bounded() waits ten times too long',
  },
  {
    id: 'B7',
    file: 'src/extension.ts',
    find: "      await runStop();\n      await report(log, client.exitError('Extension.EventLoopFailed', error));",
    replace: "      await report(log, client.exitError('Extension.EventLoopFailed', error));",
    what: 'no last stop() run before exit/error',
  },
  {
    id: 'B8',
    file: 'src/extension.ts',
    find: "        continue;\n      }\n      log.error('event/next failed'",
    replace: "        return 1;\n      }\n      log.error('event/next failed'",
    what: 'an unknown event type ends the extension',
  },
  {
    id: 'B9',
    file: 'src/extension.ts',
    find: 'return /^[A-Z]/.test(prefix) ? prefix : `EXT_${prefix}`;',
    replace: 'return prefix;',
    what: 'a settings prefix may start with a digit',
  },
  {
    id: 'B10',
    file: 'src/extension.ts',
    find: "    parent?.removeEventListener('abort', stop);\n",
    replace: '',
    what: 'bounded() leaves a listener on the run signal per event',
  },
  {
    id: 'B11',
    file: 'src/extensions-api.ts',
    find: ", 'Lambda-Extension-Accept-Feature': 'accountId'",
    replace: '',
    what: 'does not ask for accountId',
  },
  {
    id: 'B12',
    file: 'src/extensions-api.ts',
    find: 'if (reply.status >= 200 && reply.status < 300) return reply;',
    replace: 'if (reply.status >= 200 && reply.status < 500) return reply;',
    what: 'a 4xx counts as success',
  },
  {
    id: 'B13',
    file: 'src/extensions-api.ts',
    find: 'if (!(error instanceof StaleSocketError)) throw error;',
    replace: 'if (!(error instanceof StaleSocketError) || true) throw error;',
    what: 'no retry on a stale kept-alive socket',
  },
  {
    id: 'B14',
    file: 'src/extensions-api.ts',
    find: 'timeout: 0,',
    replace: 'timeout: 1000,',
    what: 'a client timeout on the long poll',
  },
  {
    id: 'B15',
    file: 'src/log.ts',
    find: 'if (logLevels.indexOf(lineLevel) < logLevels.indexOf(logger.level)) return;',
    replace: 'if (logLevels.indexOf(lineLevel) > logLevels.indexOf(logger.level)) return;',
    what: 'the level filter inverted',
  },
  {
    id: 'B16',
    file: 'src/index.ts',
    find: "  process.on('unhandledRejection', crash);\n",
    replace: '',
    what: 'an unhandled rejection is not reported',
  },
  {
    id: 'B17',
    file: 'src/index.ts',
    find: "client.exitError('Extension.UncaughtError', error)",
    replace: "client.exitError('Extension.Crash', error)",
    what: 'the crash report names the wrong error type',
  },
];

const telemetry: Mutant[] = [
  {
    id: 'T1',
    file: 'src/queue.ts',
    find: 'while (this.length > this.maxRecords || this.#bytes > this.maxBytes) {',
    replace: 'while (this.length > this.maxRecords) {',
    what: 'the byte bound is not enforced',
  },
  {
    id: 'T2',
    file: 'src/queue.ts',
    find: 'this.#records = [...batch, ...this.#records.slice(this.#head)];',
    replace: 'this.#records = [...this.#records.slice(this.#head), ...batch];',
    what: 'a failed batch goes to the back',
  },
  {
    id: 'T3',
    file: 'src/queue.ts',
    find: 'if (batch.length > 0 && size + next.bytes > maxBytes) break;',
    replace: 'if (size + next.bytes > maxBytes) break;',
    what: 'a record larger than a batch never leaves',
  },
  {
    id: 'T4',
    file: 'src/listener.ts',
    find: 'if (size > maxBatchBodyBytes) tooLarge = true;',
    replace: 'if (size > maxBatchBodyBytes * 1000) tooLarge = true;',
    what: 'no bound on a delivery',
  },
  {
    id: 'T5',
    file: 'src/listener.ts',
    find: "if (type !== 'extension' || name === '') return false;",
    replace: "if (name === '') return false;",
    what: 'own-output filter applies to every record type',
  },
  {
    id: 'T6',
    file: 'src/listener.ts',
    find: 'this.#server.listen(port, host, () => {',
    replace: 'this.#server.listen(port, () => {',
    what: 'the listener binds every interface',
  },
  {
    id: 'T7',
    file: 'src/listener.ts',
    find: "if (fields.type === 'platform.logsDropped') lambdaDropped +=",
    replace: "if (fields.type === 'platform.logsdropped') lambdaDropped +=",
    what: "Lambda's drops go uncounted",
  },
  {
    id: 'T8',
    file: 'src/shipper.ts',
    find: 'const attempts = final ? Math.max(1, this.#retry.attempts) : 1;',
    replace: 'const attempts = Math.max(1, this.#retry.attempts);',
    what: 'invokes retry with backoff',
  },
  {
    id: 'T9',
    file: 'src/shipper.ts',
    find: 'if (!final && this.paused) {',
    replace: 'if (this.paused) {',
    what: 'the final flush honours the pause',
  },
  {
    id: 'T10',
    file: 'src/shipper.ts',
    find: 'this.#cooldownMs = Math.min(pauseMs * 2, this.#breaker.maxCooldownMs);',
    replace: 'this.#cooldownMs = pauseMs * 2;',
    what: 'the cool-down is not capped',
  },
  {
    id: 'T11',
    file: 'src/shipper.ts',
    find: "if (this.#now() + wait >= deadline) return 'failed';",
    replace: "if (this.#now() + wait >= deadline + 1e9) return 'failed';",
    what: 'a backoff wait may end past the deadline',
  },
  {
    id: 'T12',
    file: 'src/shipper.ts',
    find: 'const wait = backoff / 2 + this.#random() * (backoff / 2);',
    replace: 'const wait = backoff;',
    what: 'no jitter',
  },
  {
    id: 'T13',
    file: 'src/shipper.ts',
    find: 'const pauseMs = Math.max(this.#cooldownMs, this.#retryAfterMs);',
    replace: 'const pauseMs = this.#cooldownMs;',
    what: 'Retry-After ignored',
  },
  {
    id: 'T14',
    file: 'src/shipper.ts',
    find: 'if (pending !== undefined && this.#queue.peek() === pending.first) {',
    replace: 'if (pending !== undefined && this.#queue.peek() !== pending.first) {',
    what: 'a batch sent again gets a new id',
  },
  {
    id: 'T15',
    file: 'src/shipper.ts',
    find: "    signal?.addEventListener('abort', cut, { once: true });\n",
    replace: '',
    what: "a flush ignores its caller's signal",
  },
  {
    id: 'T16',
    file: 'src/shipper.ts',
    find: '        round -= batch.length;\n',
    replace: '',
    what: 'a per-invoke round chases its own tail',
  },
  {
    id: 'T17',
    file: 'src/shipper.ts',
    find: "if (outcome === 'refused' || outcome === 'too large') {",
    replace: "if (outcome === 'refused') {",
    what: 'a single record refused for its size blocks the queue',
  },
  {
    id: 'T18',
    file: 'src/sinks.ts',
    find: 'return (status >= 300 && status < 400) || status === 401',
    replace: 'return status === 401',
    what: 'a redirect discards the batch',
  },
  {
    id: 'T19',
    file: 'src/sinks.ts',
    find: "'Idempotency-Key': batchId,",
    replace: "'Idempotency-Key': String(Math.random()),",
    what: 'the idempotency key changes on every send',
  },
  {
    id: 'T20',
    file: 'src/sinks.ts',
    find: 'if (status === 413) reject(new TooLargeError(message));',
    replace: 'if (status === 999) reject(new TooLargeError(message));',
    what: '413 is not split',
  },
  {
    id: 'T21',
    file: 'src/sinks.ts',
    find: "if (request.reusedSocket && error.code === 'ECONNRESET')",
    replace: "if (request.reusedSocket && error.code === 'ECONNRESET_')",
    what: 'no free retry on a stale socket',
  },
  {
    id: 'T22',
    file: 'src/sinks.ts',
    find: 'const wait = status === 429 || status === 503 ? retryAfterMs',
    replace: 'const wait = status === 429 ? retryAfterMs',
    what: 'Retry-After ignored on 503',
  },
  {
    id: 'T23',
    file: 'src/pipeline.ts',
    find: 'if (since.dropped > 0 || since.failedSends > 0',
    replace: 'if (since.failedSends > 0',
    what: 'drops alone do not warn',
  },
  {
    id: 'T24',
    file: 'src/pipeline.ts',
    find: 'leftMs / 2));',
    replace: 'leftMs));',
    what: 'the final-batch wait may take all the time left',
  },
  {
    id: 'T25',
    file: 'src/pipeline.ts',
    find: '    if (!this.delivering) return;\n',
    replace: '',
    what: 'waits for a final batch where nothing is delivered',
  },
  {
    id: 'T26',
    file: 'src/handlers.ts',
    find: '    await pipeline.flush(deadline - wrapUpMs, signal, true);\n    pipeline.finalReport();',
    replace: '    await pipeline.flush(deadline - wrapUpMs, signal, false);\n    pipeline.finalReport();',
    what: 'the drain is not a final flush',
  },
  {
    id: 'T27',
    file: 'src/handlers.ts',
    find: '      await pipeline.flush(deadline - wrapUpMs, signal, true);\n      await lastDelivery;',
    replace: '      await lastDelivery;',
    what: 'SHUTDOWN waits idle before shipping',
  },
  {
    id: 'T28',
    file: 'src/handlers.ts',
    find: "if (!registered.includes('INVOKE')) {",
    replace: "if (!registered.includes('SHUTDOWN')) {",
    what: 'no timer where no INVOKE comes',
  },
  {
    id: 'T29',
    file: 'src/config.ts',
    find: 'if (port === reservedPort) {',
    replace: 'if (port === -1) {',
    what: 'port 9001 accepted',
  },
  {
    id: 'T30',
    file: 'src/config.ts',
    find: 'if (queueMaxBytes > queueBytesAllowed) {',
    replace: 'if (queueMaxBytes > queueBytesAllowed * 100) {',
    what: 'a queue larger than the heap allows',
  },
];

const { values } = parseArgs({
  options: {
    template: { type: 'string', multiple: true },
    only: { type: 'string', multiple: true },
    // Only check that every mutant's text is found once, without running any test.
    check: { type: 'boolean', default: false },
  },
});
const templates = (values.template ?? ['basic', 'telemetry']) as ('basic' | 'telemetry')[];
const toolkit = path.resolve(import.meta.dirname, '..', '..');

/**
 * The project's `npm test` without its first step: `npm run test:compile`
 * type-checks the same files as `npm run typecheck` while it compiles them,
 * so a mutant that does not type-check fails here as well. Test files run
 * three at a time: they mostly wait on timers and sockets.
 */
function npmTest(cwd: string): Promise<{ passed: boolean; output: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    // A nested node --test would skip every file.
    delete env['NODE_TEST_CONTEXT'];
    const command = 'npm run test:compile && cd .test-build && node --test --test-timeout=20000 --test-concurrency=3';
    const child = spawn('sh', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // A mutant that hangs the tests is killed by the timeout.
    const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ passed: code === 0, output });
    });
  });
}

let killedTotal = 0;
let total = 0;
for (const template of templates) {
  const mutants = (template === 'basic' ? basic : telemetry).filter(
    (mutant) => values.only === undefined || values.only.includes(mutant.id),
  );
  if (mutants.length === 0) continue;
  const workspace = await mkdtemp(path.join(os.tmpdir(), `mutation-${template}-`));
  try {
    const project = path.join(workspace, 'my-ext');
    await scaffold({
      directory: project,
      name: 'my-ext',
      language: 'ts',
      template,
      architectures: ['x86_64'],
      events: ['INVOKE', 'SHUTDOWN'],
    });
    await symlink(path.join(toolkit, 'node_modules'), path.join(project, 'node_modules'), 'dir');
    if (values.check) {
      for (const mutant of mutants) {
        const count = (await readFile(path.join(project, mutant.file), 'utf8')).split(mutant.find).length - 1;
        if (count !== 1) {
          console.error(`${template} ${mutant.id}: the text to change occurs ${count} times in ${mutant.file}`);
          process.exitCode = 1;
        }
      }
      console.log(`${template}: ${mutants.length} mutants checked`);
      continue;
    }
    const baseline = await npmTest(project);
    if (!baseline.passed) {
      console.error(`${template}: the tests fail without any mutation:\n${baseline.output}`);
      process.exitCode = 1;
      continue;
    }
    const survivors: Mutant[] = [];
    for (const mutant of mutants) {
      const file = path.join(project, mutant.file);
      const original = await readFile(file, 'utf8');
      const count = original.split(mutant.find).length - 1;
      if (count !== 1) {
        console.error(
          `${template} ${mutant.id}: the text to change occurs ${count} times in ${mutant.file}; update the mutant`,
        );
        process.exitCode = 1;
        continue;
      }
      await writeFile(
        file,
        original.replace(mutant.find, () => mutant.replace),
      );
      const { passed } = await npmTest(project);
      await writeFile(file, original);
      total += 1;
      if (passed) survivors.push(mutant);
      else killedTotal += 1;
      console.log(`${template} ${mutant.id} ${passed ? 'SURVIVED' : 'killed  '} ${mutant.file}: ${mutant.what}`);
    }
    const killed = mutants.length - survivors.length;
    console.log(`${template}: ${killed} of ${mutants.length} mutants killed`);
    for (const mutant of survivors) console.log(`  survivor ${mutant.id} (${mutant.file}): ${mutant.what}`);
  } finally {
    await rm(workspace, { recursive: true, force: true });
  }
}
if (total > 0) console.log(`total: ${killedTotal} of ${total} killed (${Math.round((killedTotal / total) * 100)} %)`);

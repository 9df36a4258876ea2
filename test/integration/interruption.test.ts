import assert from 'node:assert/strict';
import { scaled } from '../helpers/time-scale.js';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { repositoryRoot } from '../helpers/run-cli.js';

/*
 * withInterruption, the one place where Ctrl-C becomes cancellation for every
 * command, in a child process that gets real signals: the first one aborts and
 * says so, a core that winds down and returns is still a cancellation (exit
 * 130 through runCli), and a second Ctrl-C quits at once.
 */

const runModule = pathToFileURL(path.join(repositoryRoot, 'build', 'src', 'cli', 'run.js')).href;

function child(body: string): {
  lines: () => string[];
  until: (line: string) => Promise<void>;
  exited: Promise<number | null>;
  kill: (signal: NodeJS.Signals) => void;
} {
  // The interval stands for a core's pending work: a signal listener alone keeps no process alive.
  const script = `import { runCli, withInterruption } from ${JSON.stringify(runModule)};\nconst pending = setInterval(() => {}, 1000);\n${body}\nclearInterval(pending);`;
  const process_ = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const waiters: (() => void)[] = [];
  for (const stream of [process_.stdout, process_.stderr]) {
    stream.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      waiters.splice(0).forEach((wake) => wake());
    });
  }
  const lines = () => output.split('\n').filter((line) => line !== '');
  return {
    lines,
    until: async (line) => {
      const deadline = Date.now() + scaled(10_000);
      while (!lines().includes(line)) {
        if (Date.now() > deadline) throw new Error(`no "${line}" in:\n${output}`);
        await new Promise<void>((wake) => {
          waiters.push(wake);
          setTimeout(wake, 100);
        });
      }
    },
    exited: new Promise((resolve) => process_.on('exit', (code) => resolve(code))),
    kill: (signal) => process_.kill(signal),
  };
}

test('a core that winds down and returns after Ctrl-C is still cancelled: exit 130, said once', async () => {
  const run = child(`
await runCli(() => withInterruption(async (signal) => {
  console.log('ready');
  await new Promise((resolve) => signal.addEventListener('abort', resolve));
  console.log('wound down');
}, { onInterrupt: () => console.log('stopping') }));`);
  await run.until('ready');
  run.kill('SIGINT');
  assert.equal(await run.exited, 130);
  assert.deepEqual(run.lines(), ['ready', 'stopping', 'wound down', 'Operation cancelled']);
});

test('SIGTERM cancels like Ctrl-C; a second signal quits at once while the core still winds down', async () => {
  const run = child(`
await runCli(() => withInterruption(async () => {
  console.log('ready');
  await new Promise(() => {}); // a core that never finishes winding down
}, { onInterrupt: () => console.log('stopping') }));`);
  await run.until('ready');
  run.kill('SIGTERM');
  await run.until('stopping');
  run.kill('SIGINT');
  assert.equal(await run.exited, 130);
  assert.deepEqual(run.lines(), ['ready', 'stopping']);
});

test('a core that had finished its work when Ctrl-C came reports what it did: exit 0', async () => {
  const run = child(`
await runCli(async () => {
  const result = await withInterruption(async (signal) => {
    console.log('ready');
    // Past the point of no return (zips renamed, say): the signal no longer changes anything.
    await new Promise((resolve) => signal.addEventListener('abort', () => setTimeout(resolve, 50)));
    return 'written';
  });
  console.log(result);
});`);
  await run.until('ready');
  run.kill('SIGINT');
  assert.equal(await run.exited, 0);
  assert.deepEqual(run.lines(), ['ready', 'written']);
});

test('Ctrl-C during a build reports each architecture it stopped as cancelled, not failed', async () => {
  const [{ build }, { CancelledError }, { writeTypeScriptProject }, { temporaryDirectory }] = await Promise.all([
    import('../../src/core/build/index.js'),
    import('../../src/core/errors.js'),
    import('../helpers/minimal-project.js'),
    import('../helpers/run-cli.js'),
  ]);
  const workspace = await temporaryDirectory('cle-build-cancel-');
  try {
    const project = await writeTypeScriptProject(path.join(workspace.path, 'project'));
    const controller = new AbortController();
    const phases: string[] = [];
    await assert.rejects(
      build({
        projectDirectory: project,
        architectures: ['x86_64'],
        signal: controller.signal,
        onProgress: (event) => {
          phases.push(event.phase);
          if (event.phase === 'start') controller.abort();
        },
      }),
      (error: unknown) => error instanceof CancelledError,
    );
    assert.deepEqual(phases, ['start', 'cancelled']);
  } finally {
    await workspace.cleanup();
  }
});

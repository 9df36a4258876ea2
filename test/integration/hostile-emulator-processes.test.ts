import assert from 'node:assert/strict';
import { scaled } from '../helpers/time-scale.js';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { runEmulator } from '../../src/core/emulator/index.js';
import { addFile, addNodeExtension, makeLayer } from '../helpers/emulator-fixtures.js';
import { extBin } from '../helpers/run-cli.js';
import { buildZip } from '../helpers/zip-fixtures.js';

/**
 * A layer's processes are untrusted: whatever an extension starts, in its
 * process group or out of it (setsid, a scrubbed environment), is gone when
 * the run ends, and so is the unpacked layer, even after a second Ctrl-C.
 */

const linux = process.platform === 'linux';
const cleanups: string[] = [];
const strays = new Set<number>();
after(async () => {
  for (const pid of strays) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone, as it should be.
    }
  }
  await Promise.all(cleanups.map((entry) => rm(entry, { recursive: true, force: true })));
});

/** A sleep duration no other process on the machine uses, so its processes can be found by command line. */
const uniqueSeconds = () => 900_000 + Math.floor(Math.random() * 90_000);

/** Live (not zombie) processes whose command line is exactly `sleep <seconds>` or `/bin/sleep <seconds>`. */
function sleepers(seconds: number): number[] {
  const wanted = [`sleep\0${seconds}\0`, `/bin/sleep\0${seconds}\0`];
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (/\) [ZX] /.test(stat)) continue;
      if (wanted.includes(readFileSync(`/proc/${name}/cmdline`, 'latin1'))) found.push(Number(name));
    } catch {
      // Exited meanwhile.
    }
  }
  for (const pid of found) strays.add(pid);
  return found;
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + scaled(timeoutMs);
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function layerWithScript(script: string): Promise<string> {
  const layer = await makeLayer();
  cleanups.push(layer);
  await addFile(layer, 'spawner', `#!/bin/sh\n${script}\n`, 0o755);
  return layer;
}

test(
  'a child left in the process group after the extension exits 0 is killed',
  { skip: !linux, timeout: scaled(20_000) },
  async () => {
    const seconds = uniqueSeconds();
    const layer = await layerWithScript(`sleep ${seconds} &\nexit 0`);
    const report = await runEmulator({ layerDirectory: layer, initTimeoutMs: 3_000 });
    assert.equal(report.verdicts[0]?.kind, 'crash');
    assert.deepEqual(sleepers(seconds), []);
  },
);

test('a child that called setsid is killed', { skip: !linux, timeout: scaled(20_000) }, async () => {
  const seconds = uniqueSeconds();
  const layer = await layerWithScript(
    `setsid sleep ${seconds} &\nsetsid sh -c 'sleep ${seconds} & exit 0' &\nsleep 0.2\nexit 0`,
  );
  await runEmulator({ layerDirectory: layer, initTimeoutMs: 3_000 });
  assert.deepEqual(sleepers(seconds), []);
});

test(
  'a setsid child with a scrubbed environment is killed too, once seen as a descendant',
  { skip: !linux, timeout: scaled(20_000) },
  async () => {
    const seconds = uniqueSeconds();
    // The launcher lives long enough for the periodic /proc walk (every second) to see its child.
    const layer = await layerWithScript(`setsid env -i /bin/sleep ${seconds} &\n/bin/sleep 3\nexit 0`);
    const run = runEmulator({ layerDirectory: layer, initTimeoutMs: 5_000 });
    await until(() => sleepers(seconds).length === 1, 'the scrubbed child');
    await run;
    assert.deepEqual(sleepers(seconds), []);
  },
);

test(
  'a second Ctrl-C quits at once, and leaves no unpacked layer and no process behind',
  { skip: !linux, timeout: scaled(30_000) },
  async () => {
    const seconds = uniqueSeconds();
    const work = await mkdtemp(path.join(os.tmpdir(), 'ext-dev-interrupt-'));
    cleanups.push(work);
    const temp = path.join(work, 'tmp');
    await rm(temp, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(temp));
    const zip = path.join(work, 'layer.zip');
    const script = `#!/bin/sh\nsleep ${seconds} &\nsetsid sleep ${seconds} &\nexec sleep ${seconds}\n`;
    await writeFile(
      zip,
      buildZip([
        { name: 'extensions/', mode: 0o40755 },
        { name: 'extensions/stubborn', data: script, mode: 0o100755 },
      ]),
    );
    const child = spawn(process.execPath, [extBin, 'dev', '--layer', zip, '--json'], {
      env: { ...process.env, NO_COLOR: '1', TMPDIR: temp },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await until(() => sleepers(seconds).length === 3, 'the extension and its two children');
      assert.equal((await readdir(temp)).filter((name) => name.startsWith('ext-dev-layer-')).length, 1);
      child.kill('SIGINT');
      await new Promise((resolve) => setTimeout(resolve, 100));
      const secondAt = Date.now();
      child.kill('SIGINT');
      const code = await exited;
      assert.equal(code, 130, stderr);
      assert.ok(Date.now() - secondAt < scaled(1_000), `quit ${Date.now() - secondAt} ms after the second Ctrl-C`);
      assert.deepEqual(await readdir(temp), [], 'the unpacked layer is removed');
      assert.deepEqual(sleepers(seconds), [], 'no process of the layer is left');
    } finally {
      child.kill('SIGKILL');
    }
  },
);

test('Ctrl-C during a long --interval pause does not wait the pause out', { timeout: scaled(20_000) }, async () => {
  const layer = await makeLayer();
  cleanups.push(layer);
  await addNodeExtension(layer, 'patient');
  const controller = new AbortController();
  let abortedAt = 0;
  const report = await runEmulator({
    layerDirectory: layer,
    invokes: 2,
    intervalMs: 60_000,
    function: { durationMs: 1 },
    signal: controller.signal,
    onTimeline: (entry) => {
      if (entry.kind === 'report' && abortedAt === 0) {
        abortedAt = Date.now();
        controller.abort();
      }
    },
  });
  assert.equal(report.status, 'interrupted');
  assert.equal(report.invokes.length, 1);
  assert.ok(Date.now() - abortedAt < scaled(1_500), `stopped ${Date.now() - abortedAt} ms after the interrupt`);
});

for (const [stage, behaviour, functionDurationMs] of [
  ['a hung Init', { neverRegister: true }, 1],
  ['a hung invoke', { hangOnInvoke: true }, 1],
  ['a long function', {}, 60_000],
] as const) {
  test(`one Ctrl-C during ${stage} stops within a second`, { timeout: scaled(20_000) }, async () => {
    const layer = await makeLayer();
    cleanups.push(layer);
    await addNodeExtension(layer, 'stuck', behaviour);
    const controller = new AbortController();
    let abortedAt = 0;
    const abortSoon = () => {
      if (abortedAt !== 0) return;
      setTimeout(() => {
        abortedAt = Date.now();
        controller.abort();
      }, 300);
    };
    const report = await runEmulator({
      layerDirectory: layer,
      invokes: 2,
      function: { durationMs: functionDurationMs, timeoutSeconds: 120 },
      initTimeoutMs: 60_000,
      signal: controller.signal,
      onTimeline: (entry) => {
        if (stage === 'a hung Init' ? entry.kind === 'init-start' : entry.kind === 'start') abortSoon();
      },
    });
    const stoppedAfter = Date.now() - abortedAt;
    assert.equal(report.status, 'interrupted', JSON.stringify(report.verdicts));
    assert.equal(report.exitCode, 130);
    assert.deepEqual(report.verdicts, [], 'an interrupt is nobody’s fault');
    assert.ok(stoppedAfter < scaled(1_000), `stopped ${stoppedAfter} ms after the interrupt`);
    const statuses =
      stage === 'a hung Init' ? report.inits.map((init) => init.status) : report.invokes.map((invoke) => invoke.status);
    assert.deepEqual(statuses, ['interrupted']);
  });
}

/** Whether this machine lets this process make a cgroup v2 beside its own (then ext dev must use one). */
function canMakeCgroup(): boolean {
  try {
    const mount = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .find((line) => line.split(' - ')[1]?.startsWith('cgroup2 '))
      ?.split(' ')[4];
    const own = readFileSync('/proc/self/cgroup', 'utf8')
      .split('\n')
      .find((line) => line.startsWith('0::'))
      ?.slice(3);
    if (mount === undefined || own === undefined) return false;
    const probe = path.join(mount, own, `ext-dev-test-probe-${process.pid}`);
    mkdirSync(probe);
    rmdirSync(probe);
    return true;
  } catch {
    return false;
  }
}
const noCgroup = !linux || !canMakeCgroup();

test(
  'a double fork that calls setsid and clears its environment (env -i) at once is killed: the run is in a cgroup',
  { skip: noCgroup && 'no cgroup v2 can be made here: only a cgroup catches this escape', timeout: scaled(20_000) },
  async () => {
    const seconds = uniqueSeconds();
    // The middle process exits at once, so no /proc walk sees the sleeper as a descendant.
    const layer = await layerWithScript(`setsid sh -c 'env -i /bin/sleep ${seconds} &' &\nsleep 0.3\nexit 0`);
    const report = await runEmulator({ layerDirectory: layer, initTimeoutMs: 3_000 });
    assert.equal(report.containment?.kind, 'cgroup');
    assert.ok(report.timeline.some((entry) => entry.kind === 'containment' && /^CONTAINMENT cgroup /.test(entry.text)));
    assert.deepEqual(sleepers(seconds), []);
    assert.equal(existsSync(report.containment.cgroup!), false, 'the cgroup is removed');
  },
);

for (const killedBy of ['SIGKILL', 'SIGABRT'] as const) {
  test(
    `ext dev killed by ${killedBy} (no cleanup code runs): no process of the layer survives`,
    {
      skip: noCgroup && 'no cgroup v2 can be made here: only a cgroup catches a scrubbed double fork',
      timeout: scaled(40_000),
    },
    async () => {
      const seconds = uniqueSeconds();
      const layer = await layerWithScript(
        [
          `setsid sh -c 'env -i /bin/sleep ${seconds} &' &`,
          `setsid /bin/sleep ${seconds} &`,
          `/bin/sleep ${seconds} &`,
          `exec /bin/sleep ${seconds}`,
        ].join('\n'),
      );
      const child = spawn(process.execPath, [extBin, 'dev', '--layer', layer, '--json', '--init-timeout', '30000'], {
        env: { ...process.env, NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      try {
        await until(() => sleepers(seconds).length === 4, 'the extension and its three children', 20_000);
        child.kill(killedBy);
        await exited;
        // The watchdog acts as soon as ext dev's pipe closes; generous, since the machine may be loaded.
        await until(() => sleepers(seconds).length === 0, 'no process of the layer left', 15_000);
      } finally {
        child.kill('SIGKILL');
      }
    },
  );
}

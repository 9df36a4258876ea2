import assert from 'node:assert/strict';
import { scaled } from '../helpers/time-scale.js';
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { extBin, runCreate, temporaryDirectory } from '../helpers/run-cli.js';
import { writeTypeScriptProject } from '../helpers/minimal-project.js';

interface InterruptedRun {
  code: number | null;
  stderr: string;
  /** From the signal to the exit. */
  stopMs: number;
}

/**
 * Starts `ext <args>` as the leader of its own process group, waits until a
 * layer build has started, then sends SIGINT to the process alone or, like a
 * terminal's Ctrl-C, to the whole group.
 */
function interrupt(
  args: string[],
  project: string,
  env: NodeJS.ProcessEnv,
  target: 'process' | 'group',
  delayMs = 1500,
) {
  return new Promise<InterruptedRun>((resolve, reject) => {
    const child = spawn(process.execPath, [extBin, ...args], {
      cwd: project,
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    let stderr = '';
    let signalledAt = 0;
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const killer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), scaled(60_000));
    const poll = setInterval(() => {
      void readdir(path.join(project, 'dist')).then(
        (names) => {
          // A layer's staging folder, .<arch>.build.<pid>-<hex> (see temporarySibling).
          if (signalledAt !== 0 || !names.some((name) => /\.build\.\d+-[0-9a-f]{8}$/.test(name))) return;
          // Give the compiler time to start, so that there is work to stop.
          signalledAt = -1;
          setTimeout(() => {
            signalledAt = performance.now();
            process.kill(target === 'group' ? -child.pid! : child.pid!, 'SIGINT');
          }, delayMs);
        },
        () => {},
      );
    }, 20);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(poll);
      clearTimeout(killer);
      resolve({ code, stderr, stopMs: signalledAt > 0 ? performance.now() - signalledAt : Number.NaN });
    });
  });
}

/** Processes whose command line mentions `text` (go and the compile and link children it started). */
async function processesMentioning(text: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const commandLine = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (commandLine.includes(text)) found.push(`${pid}: ${commandLine.replaceAll('\0', ' ').slice(0, 200)}`);
  }
  return found;
}

describe('Ctrl-C stops a build or pack at once and leaves nothing', { timeout: scaled(240_000) }, () => {
  for (const [command, target] of [
    ['build', 'process'],
    ['pack', 'process'],
    ['pack', 'group'],
  ] as const) {
    test(`ext ${command}, SIGINT to the ${target}`, { timeout: scaled(90_000) }, async () => {
      const workspace = await temporaryDirectory('interrupt-');
      try {
        const project = path.join(workspace.path, 'project');
        const created = await runCreate([project, '--lang', 'go', '--yes'], { timeoutMs: 30_000 });
        assert.equal(created.code, 0, created.stderr);
        // An empty build cache makes go compile the standard library: a build that takes long enough to interrupt.
        const temporary = path.join(workspace.path, 'tmp');
        await mkdir(temporary);
        const env = { GOCACHE: path.join(workspace.path, 'gocache'), TMPDIR: temporary, GOFLAGS: '' };
        const result = await interrupt([command], project, env, target);
        assert.equal(result.code, 130, result.stderr);
        assert.match(result.stderr, /^Operation cancelled$/m);
        assert.doesNotMatch(result.stderr, /go build failed|internal error/);
        assert.ok(result.stopMs < scaled(3000), `stopped ${Math.round(result.stopMs)} ms after the signal`);
        const leftovers = (await readdir(path.join(project, 'dist'))).filter((name) => name !== '.ext-output.json');
        assert.deepEqual(leftovers, [], 'no temp folders in dist');
        assert.deepEqual(await readdir(temporary), [], 'no go work directories left');
        assert.deepEqual(await processesMentioning(workspace.path), [], 'no compiler left running');
      } finally {
        await workspace.cleanup();
      }
    });
  }

  test(
    'ext build of a TypeScript project: esbuild is cancelled, not waited for',
    { timeout: scaled(90_000) },
    async () => {
      const workspace = await temporaryDirectory('interrupt-ts-');
      try {
        const project = path.join(workspace.path, 'project');
        // About 25 MB of source: several seconds of bundling, far longer than the bound below.
        const lines = Array.from(
          { length: 200_000 },
          (_, index) =>
            `export const v${index} = { a: ${index}, f(x: number): number { return x * ${index} + this.a; } };`,
        );
        await writeTypeScriptProject(project, `${lines.join('\n')}\nconsole.log(v1);\n`);
        const result = await interrupt(['build'], project, {}, 'process', 300);
        assert.equal(result.code, 130, result.stderr);
        assert.match(result.stderr, /^Operation cancelled$/m);
        assert.ok(result.stopMs < scaled(1500), `stopped ${Math.round(result.stopMs)} ms after the signal`);
        const leftovers = (await readdir(path.join(project, 'dist'))).filter((name) => name !== '.ext-output.json');
        assert.deepEqual(leftovers, [], 'no temp folders in dist');
      } finally {
        await workspace.cleanup();
      }
    },
  );
});

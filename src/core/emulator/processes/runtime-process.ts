import { spawn, type ChildProcess } from 'node:child_process';
import { LineSplitter } from '../output.js';
import type { RuntimeCommand } from '../types.js';
import { describeSpawnError } from './launch.js';

/**
 * Starting the function's runtime process as Lambda does (RIE's rapid/handlers.go doRuntimeBootstrap):
 * its command, in its task root, with the function's environment and AWS_LAMBDA_RUNTIME_API, in its own
 * process group under the run's containment like every extension. Its output is read line by line,
 * bounded as extension output is.
 */

export interface RuntimeListener {
  output(stream: 'stdout' | 'stderr', line: string, droppedBytes: number): void;
  exited(code: number | null, signal: NodeJS.Signals | null): void;
}

export interface StartedRuntime {
  child: ChildProcess;
  /** Resolves when its stdout and stderr have ended. */
  outputClosed: Promise<void>;
}

/** Spawns the runtime; resolves once it runs, or with Lambda's exec error (Runtime.InvalidEntrypoint). */
export function startRuntimeProcess(
  command: RuntimeCommand,
  environment: Record<string, string>,
  listener: RuntimeListener,
  contain: (start: () => ChildProcess) => ChildProcess,
): Promise<StartedRuntime | { error: string }> {
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = contain(() =>
        spawn(command.command, command.args, {
          cwd: command.cwd,
          env: environment,
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true,
        }),
      );
    } catch (error) {
      resolve({ error: describeSpawnError(command.command, error as NodeJS.ErrnoException) });
      return;
    }
    child.once('error', (error: NodeJS.ErrnoException) =>
      resolve({ error: describeSpawnError(command.command, error) }),
    );
    child.once('spawn', () => {
      const closed: Promise<void>[] = [];
      for (const stream of ['stdout', 'stderr'] as const) {
        const source = child[stream];
        if (source === null) continue;
        const lines = new LineSplitter((line, dropped) => listener.output(stream, line, dropped));
        source.on('data', (chunk: Buffer) => lines.write(chunk));
        closed.push(
          new Promise((done) =>
            source.once('close', () => {
              lines.end();
              done();
            }),
          ),
        );
      }
      child.on('exit', (code, signal) => listener.exited(code, signal));
      resolve({ child, outputClosed: Promise.all(closed).then(() => undefined) });
    });
  });
}

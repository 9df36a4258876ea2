import { spawn } from 'node:child_process';
import { scaled } from './time-scale.js';

/**
 * Runs a command on a real pseudo-terminal (through util-linux `script`) and
 * lets a test answer prompts the way a person would: wait for text, then type.
 */
export interface TerminalSession {
  /** Resolves once `pattern` has appeared in the output since the last wait. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  type(keys: string): void;
  /** Resolves with the exit code and everything the terminal showed. */
  exited: Promise<{ code: number | null; output: string }>;
}

export const keys = { enter: '\r', down: '\u001b[B', up: '\u001b[A', space: ' ', ctrlC: '\u0003', escape: '\u001b' };

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, "'\\''")}'`;
}

export function startTerminal(command: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): TerminalSession {
  const child = spawn('script', ['-qfec', command.map(shellQuote).join(' '), '/dev/null'], {
    cwd: options.cwd,
    env: { ...process.env, CI: '', TERM: 'xterm', COLUMNS: '100', LINES: '40', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  let searchFrom = 0;
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    listeners.forEach((listener) => listener());
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<{ code: number | null; output: string }>((resolve) => {
    child.on('close', (code) => resolve({ code, output }));
  });
  // Strip colours and cursor movement so tests can match plain text.
  // eslint-disable-next-line no-control-regex -- matching ANSI escapes is the point
  const plain = (text: string) => text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
  return {
    exited,
    type: (text) => child.stdin.write(text),
    waitFor: (pattern, timeoutMs = 15_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(plain(output.slice(searchFrom)));
          if (match === null) return false;
          searchFrom = output.length;
          listeners.delete(check);
          clearTimeout(timer);
          // Give the prompt a moment to switch the terminal to raw mode before typing.
          setTimeout(resolve, 60);
          return true;
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          child.kill('SIGKILL');
          reject(new Error(`timed out waiting for ${pattern}; terminal showed:\n${plain(output)}`));
        }, scaled(timeoutMs));
        if (!check()) listeners.add(check);
      }),
  };
}

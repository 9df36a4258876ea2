import type { BuildProgress } from '../core/build/index.js';
import { dim, green, red, yellow } from './terminal.js';

/** One line per architecture on stderr as builds start and finish; only used on a terminal. */
export function buildProgressPrinter(): (event: BuildProgress) => void {
  return (event) => {
    const seconds = 'durationMs' in event ? dim(` ${(event.durationMs / 1000).toFixed(1)}s`) : '';
    const label = event.architecture.padEnd(7);
    if (event.phase === 'start') process.stderr.write(`${dim('…')} building ${label}\n`);
    else if (event.phase === 'done') process.stderr.write(`${green('✔')} built    ${label}${seconds}\n`);
    else if (event.phase === 'cancelled') process.stderr.write(`${yellow('○')} cancelled ${label}${seconds}\n`);
    else process.stderr.write(`${red('✖')} failed   ${label}${seconds}\n`);
  };
}

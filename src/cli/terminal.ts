/**
 * Whether we may ask questions: only on a real terminal, never in CI, and
 * never when the user said --yes or --no-interactive.
 */
export function canPrompt(options: { interactive?: boolean | undefined; yes?: boolean | undefined } = {}): boolean {
  if (options.yes === true || options.interactive === false) return false;
  if (isCi()) return options.interactive === true && Boolean(process.stdin.isTTY);
  return Boolean(process.stdin.isTTY && process.stdout.isTTY);
}

export function isCi(): boolean {
  const value = process.env['CI'];
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

/** Progress lines go to stderr, and only on a terminal, so stdout stays parseable. */
export function showsProgress(json: boolean | undefined): boolean {
  return json !== true && Boolean(process.stderr.isTTY);
}

/**
 * How wide help text may be: the terminal's width (at least 80), so that an
 * example command is not broken in the middle; not wrapped at all when the
 * help goes to a file or a pipe.
 */
export function helpWidth(): number | null {
  return process.stdout.isTTY ? Math.max(80, process.stdout.columns || 80) : null;
}

/** NO_COLOR (https://no-color.org): set and not empty turns colour off. */
export function noColorRequested(): boolean {
  const value = process.env['NO_COLOR'];
  return value !== undefined && value !== '';
}

const useColor = Boolean(process.stdout.isTTY) && !noColorRequested();
const paint = (code: number) => (text: string) => (useColor ? `\u001b[${code}m${text}\u001b[0m` : text);
export const bold = paint(1);
export const dim = paint(2);
export const red = paint(31);
export const green = paint(32);
export const yellow = paint(33);
export const cyan = paint(36);

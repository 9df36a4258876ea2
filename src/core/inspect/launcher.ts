import path from 'node:path';

export interface LauncherTarget {
  /** 1-based line number in the script. */
  line: number;
  text: string;
  /** The resolved layer path (relative to /opt, i.e. the zip root), if resolvable. */
  path?: string;
  /** True when the script executes the target itself; false when it hands it to an interpreter. */
  direct: boolean;
  /** The interpreter the target is handed to (node, python3...), when not direct. */
  interpreter?: string;
  /** Set when that interpreter is itself a file in the layer (a standalone layer's own node), not PATH's. */
  bundledInterpreter?: string;
}

const interpreters = new Set([
  'node',
  'nodejs',
  'python',
  'python3',
  'ruby',
  'perl',
  'php',
  'sh',
  'bash',
  'dash',
  'java',
  'deno',
  'bun',
]);

/**
 * Finds what a launcher script runs, by evaluating the few shell idioms that
 * locate files next to the script: `$0`, `$(dirname "$0")`, `$(cd … && pwd)`,
 * `$(basename "$0")`, the `${0%…}`/`${0##…}` expansions that drop or keep the
 * last path component, `readlink -f`/`realpath`, and variables assigned from them. The launcher is assumed to run as
 * /opt/<launcherPath>, as Lambda runs it.
 */
export function launcherTargets(script: string, launcherPath: string): LauncherTarget[] {
  const self = `/opt/${launcherPath}`;
  const variables = new Map<string, string>();
  const budget = { characters: maximumExpansionWork };
  const targets: LauncherTarget[] = [];
  const lines = script.split('\n');
  lines.forEach((rawLine, index) => {
    if (index === 0 && rawLine.startsWith('#!')) return;
    const line = rawLine
      .replace(/\r$/, '')
      .replace(/(^|\s)#.*$/, '')
      .trim();
    if (line === '') return;
    const assignment = /^(?:(?:export|local|readonly)\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (assignment !== null) {
      const value = unquote(expandShell(assignment[2]!, self, variables, budget));
      if (!/[$`]/.test(value)) variables.set(assignment[1]!, value);
      return;
    }
    const words = splitWords(expandShell(line, self, variables, budget));
    if (words[0] === 'exec') {
      words.shift();
      while (words[0]?.startsWith('-') === true) if (words.shift() === '-a') words.shift();
    }
    if (words[0] !== undefined && path.posix.basename(words[0]) === 'env') {
      words.shift();
      while (words[0] !== undefined && (words[0].startsWith('-') || /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0])))
        words.shift();
    }
    const first = words[0];
    if (first === undefined) return;
    const record = (word: string, direct: boolean, interpreter?: string, bundledInterpreter?: string): void => {
      const target: LauncherTarget = { line: index + 1, text: rawLine.replace(/\r$/, ''), direct };
      if (interpreter !== undefined) target.interpreter = interpreter;
      if (bundledInterpreter !== undefined) target.bundledInterpreter = bundledInterpreter;
      if (/[$`]/.test(word)) {
        targets.push(target);
        return;
      }
      const normalized = path.posix.normalize(word);
      if (!normalized.startsWith('/opt/')) return; // outside the layer: another layer's or the runtime's file
      targets.push({ ...target, path: normalized.slice('/opt/'.length) });
    };
    const looksLikeLayerPath = (word: string): boolean =>
      word.startsWith('/opt/') || (/[$`]/.test(word) && /\//.test(word));
    const argument = words.slice(1).find((word) => !word.startsWith('-'));
    const program = path.posix.basename(first);
    if (looksLikeLayerPath(first)) {
      record(first, true);
      // An interpreter shipped in the layer (a standalone layer's node): what it runs must be there too.
      if (interpreters.has(program) && argument !== undefined && looksLikeLayerPath(argument)) {
        const normalized = path.posix.normalize(first);
        record(argument, false, program, normalized.startsWith('/opt/') ? normalized.slice('/opt/'.length) : first);
      }
      return;
    }
    if (!interpreters.has(program)) return;
    if (argument !== undefined && looksLikeLayerPath(argument)) record(argument, false, program);
  });
  return targets;
}

function unquote(text: string): string {
  const trimmed = text.trim();
  if (trimmed.length >= 2 && (trimmed[0] === '"' || trimmed[0] === "'") && trimmed.endsWith(trimmed[0]))
    return trimmed.slice(1, -1);
  return trimmed;
}

/** Splits a command line into words, dropping quotes (no globbing, no escapes beyond the basics). */
function splitWords(line: string): string[] {
  const words: string[] = [];
  let current = '';
  let quote: string | undefined;
  let inWord = false;
  for (const character of line) {
    if (quote !== undefined) {
      if (character === quote) quote = undefined;
      else current += character;
    } else if (character === '"' || character === "'") {
      quote = character;
      inWord = true;
    } else if (/\s/.test(character)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else if (character === ';' || character === '&' || character === '|') {
      break;
    } else {
      current += character;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  return words;
}

/** Thrown when a launcher's expansions grow past what any real launcher needs. */
export class LauncherTooComplexError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LauncherTooComplexError';
  }
}

/**
 * Real launchers expand to a path or a short command line; variables that
 * double each other grow exponentially, so one expansion and all of them
 * together are capped (in characters produced).
 */
export const maximumExpansionLength = 8 * 1024;
export const maximumExpansionWork = 1024 * 1024;

/** Substitutes the idioms listed on `launcherTargets` until nothing changes, within `budget`. */
function expandShell(
  text: string,
  self: string,
  variables: Map<string, string>,
  budget: { characters: number },
): string {
  const spend = (characters: number): void => {
    budget.characters -= characters;
    if (budget.characters < 0) {
      throw new LauncherTooComplexError(`its expansions produce more than ${maximumExpansionWork} characters`);
    }
  };
  const substitute = (value: string): string => {
    produced += value.length;
    if (produced > maximumExpansionLength) {
      throw new LauncherTooComplexError(`a line expands to more than ${maximumExpansionLength} characters`);
    }
    return value;
  };
  let produced = 0;
  const literal = String.raw`"([^"$\x60]*)"|'([^']*)'|([^\s"'$\x60()]+)`;
  const argument = (match: RegExpExecArray | string[], start: number): string =>
    match[start] ?? match[start + 1] ?? match[start + 2] ?? '';
  const commands: [RegExp, (value: string) => string][] = [
    [new RegExp(String.raw`\$\(\s*dirname\s+(?:--\s+)?(?:${literal})\s*\)`, 'g'), (value) => path.posix.dirname(value)],
    [new RegExp(String.raw`\x60\s*dirname\s+(?:${literal})\s*\x60`, 'g'), (value) => path.posix.dirname(value)],
    [
      new RegExp(String.raw`\$\(\s*basename\s+(?:--\s+)?(?:${literal})\s*\)`, 'g'),
      (value) => path.posix.basename(value),
    ],
    [
      new RegExp(
        String.raw`\$\(\s*(?:readlink\s+-[fem]|realpath(?:\s+-[a-zA-Z]+)*)\s+(?:--\s+)?(?:${literal})\s*\)`,
        'g',
      ),
      (value) => path.posix.normalize(value),
    ],
    [
      new RegExp(String.raw`\$\(\s*cd\s+(?:-P\s+)?(?:--\s+)?(?:${literal})\s*(?:&&|;)\s*pwd(?:\s+-[PL])?\s*\)`, 'g'),
      (value) => path.posix.normalize(value),
    ],
  ];
  let current = text;
  for (let round = 0; round < 10; round++) {
    produced = current.length;
    let next = current
      .replaceAll('${0%/*}', () => substitute(path.posix.dirname(self)))
      .replaceAll('${0##*/}', () => substitute(path.posix.basename(self)))
      .replace(
        /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
        (whole, braced: string | undefined, bare: string | undefined) =>
          substitute(variables.get(braced ?? bare ?? '') ?? whole),
      )
      .replace(/\$\{0\}|\$0(?![0-9])/g, () => substitute(self));
    for (const [pattern, evaluate] of commands) {
      next = next.replace(pattern, (...match: string[]) => evaluate(argument(match, 1)));
    }
    if (next.length > maximumExpansionLength) {
      throw new LauncherTooComplexError(`a line expands to more than ${maximumExpansionLength} characters`);
    }
    spend(next.length);
    if (next === current) break;
    current = next;
  }
  return current;
}

/**
 * Whether a launcher keeps the function's NODE_OPTIONS away from the node it
 * runs: `unset NODE_OPTIONS`, an empty assignment, or `env -i` / `env -u NODE_OPTIONS`.
 */
export function clearsNodeOptions(script: string): boolean {
  return script.split('\n').some((rawLine) => {
    const line = rawLine
      .replace(/\r$/, '')
      .replace(/(^|\s)#.*$/, '')
      .trim();
    return (
      /^unset\s+(?:-v\s+)?(?:[A-Za-z_][A-Za-z0-9_]*\s+)*NODE_OPTIONS(?:\s|;|$)/.test(line) ||
      /(?:^|[\s;])(?:export\s+)?NODE_OPTIONS=(?:""|''|)(?:\s|;|$)/.test(line) ||
      /(?:^|[\s;])env\s+(?:\S+\s+)*?(?:-i|--ignore-environment|-u\s*NODE_OPTIONS|--unset[= ]NODE_OPTIONS)(?:\s|$)/.test(
        line,
      )
    );
  });
}

import path from 'node:path';
import type { InvokeEvent } from '../emulator/types.js';
import { CliError, errorMessage } from '../errors.js';
import { readRegularFileUpTo } from '../fs-utils.js';

/**
 * The events `ext dev --function` invokes the function with (`--event FILE`
 * or `--event -` for stdin):
 * - one JSON value is one event;
 * - a JSON array is several, one per element (to send one array as an event, wrap it: `[[1, 2]]`);
 * - several JSON values one after another (JSON Lines, or pretty-printed values in a row) are several.
 * Each event keeps its bytes exactly as written: the runtime reads them as
 * Lambda's `next` would hand them over, with no re-serialisation that would
 * change numbers or key order. A text that is not JSON gets a one-line error
 * naming the source, the line and the column.
 */

/** Far more than any event a sync invoke carries (6 MB); reading stops there. */
export const maximumEventFileBytes = 64 * 1024 * 1024;

const eventHint =
  'each event is one JSON value; give several as a JSON array or one per line (JSON Lines), such as {"key": "value"}';

/** Where the scanner stopped on bad JSON: an offset into the text and what it expected. */
class JsonSyntaxError extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

const isWhitespace = (code: number) => code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;

function skipWhitespace(text: string, offset: number): number {
  let index = offset;
  while (index < text.length && isWhitespace(text.charCodeAt(index))) index++;
  return index;
}

function describe(text: string, offset: number): string {
  if (offset >= text.length) return 'the end of the text';
  const character = text[offset]!;
  return /^[\x21-\x7e]$/.test(character)
    ? `'${character}'`
    : `U+${character.codePointAt(0)!.toString(16).padStart(4, '0')}`;
}

/** The end of a JSON string starting at `offset` (a quote), strictly: escapes checked, no raw control characters. */
function scanString(text: string, offset: number): number {
  let index = offset + 1;
  while (index < text.length) {
    const code = text.charCodeAt(index);
    if (code === 0x22) return index + 1;
    if (code < 0x20) throw new JsonSyntaxError(index, 'a control character inside a string (escape it)');
    if (code === 0x5c) {
      const escape = text[index + 1];
      if (escape === 'u') {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(index + 2, index + 6)))
          throw new JsonSyntaxError(index, 'a \\u escape needs four hex digits');
        index += 6;
        continue;
      }
      if (escape === undefined || !'"\\/bfnrt'.includes(escape))
        throw new JsonSyntaxError(index, 'an unknown escape in a string');
      index += 2;
      continue;
    }
    index++;
  }
  throw new JsonSyntaxError(text.length, 'a string that is never closed');
}

const numberPattern = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

function scanScalar(text: string, offset: number): number {
  const character = text[offset];
  if (character === '"') return scanString(text, offset);
  for (const literal of ['true', 'false', 'null']) {
    if (text.startsWith(literal, offset)) return offset + literal.length;
  }
  numberPattern.lastIndex = offset;
  const number = numberPattern.exec(text);
  if (number !== null && number[0] !== '' && number[0] !== '-') return offset + number[0].length;
  throw new JsonSyntaxError(offset, `expected a JSON value, found ${describe(text, offset)}`);
}

/**
 * The end of the JSON value at `offset` (after whitespace), checked strictly
 * and without recursion, so that deep nesting cannot overflow the stack.
 * `onElement` sees the span of each element of a top-level array.
 */
export function scanJsonValue(
  text: string,
  offset: number,
  onElement?: (start: number, end: number) => void,
): { start: number; end: number } {
  const start = skipWhitespace(text, offset);
  /** Open containers: `]` or `}`; for objects, whether a key is awaited. */
  const stack: ('[' | '{')[] = [];
  let index = start;
  let elementStart = -1;
  // Each turn parses one value at `index`, then climbs out of every container it closes.
  for (;;) {
    index = skipWhitespace(text, index);
    if (stack.length === 1 && stack[0] === '[' && onElement !== undefined) elementStart = index;
    const character = text[index];
    if (character === '[' || character === '{') {
      stack.push(character);
      index = skipWhitespace(text, index + 1);
      const closing = character === '[' ? ']' : '}';
      if (text[index] === closing) {
        stack.pop();
        index++;
      } else if (character === '{') {
        index = objectKey(text, index);
        continue;
      } else continue;
    } else index = scanScalar(text, index);
    // After a value: a comma continues the container, a closing bracket ends it.
    for (;;) {
      if (stack.length === 0) return { start, end: index };
      const top = stack[stack.length - 1]!;
      if (stack.length === 1 && top === '[' && onElement !== undefined && elementStart >= 0) {
        onElement(elementStart, index);
        elementStart = -1;
      }
      index = skipWhitespace(text, index);
      const next = text[index];
      if (next === ',') {
        index = top === '{' ? objectKey(text, skipWhitespace(text, index + 1)) : index + 1;
        break;
      }
      if (next === (top === '[' ? ']' : '}')) {
        stack.pop();
        index++;
        continue;
      }
      throw new JsonSyntaxError(
        index,
        `expected ',' or '${top === '[' ? ']' : '}'}', found ${describe(text, index)}${top === '{' ? ' after a property value' : ''}`,
      );
    }
  }
}

/** A property name and its colon; returns where the value starts. */
function objectKey(text: string, offset: number): number {
  if (text[offset] !== '"')
    throw new JsonSyntaxError(offset, `expected a property name in double quotes, found ${describe(text, offset)}`);
  const afterKey = skipWhitespace(text, scanString(text, offset));
  if (text[afterKey] !== ':') throw new JsonSyntaxError(afterKey, `expected ':', found ${describe(text, afterKey)}`);
  return afterKey + 1;
}

/** 1-based line and column of an offset. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let index = 0; index < offset && index < text.length; index++) {
    if (text.charCodeAt(index) === 0x0a) {
      line++;
      lineStart = index + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * Parses the text of `--event` into the invokes' events. `source` names the
 * text in messages and in each event (`events.json`, `stdin`).
 */
export function parseEvents(text: string, source: string): InvokeEvent[] {
  // Windows editors save UTF-8 with a byte-order mark; JSON has none.
  const body = text.startsWith('\ufeff') ? text.slice(1) : text;
  const fail = (offset: number, reason: string): CliError => {
    const { line, column } = lineAndColumn(body, offset);
    return new CliError(`${source}:${line}:${column}: not JSON: ${reason}`, {
      code: 'E_FUNCTION_EVENT_INVALID',
      hint: eventHint,
    });
  };
  if (skipWhitespace(body, 0) === body.length) {
    throw new CliError(`${source}: holds no event (it is empty)`, {
      code: 'E_FUNCTION_EVENT_INVALID',
      hint: eventHint,
    });
  }
  const values: { start: number; end: number; elements: { start: number; end: number }[] }[] = [];
  let offset = 0;
  try {
    while (skipWhitespace(body, offset) < body.length) {
      offset = skipWhitespace(body, offset);
      const elements: { start: number; end: number }[] = [];
      const span = scanJsonValue(body, offset, (start, end) => elements.push({ start, end }));
      values.push({ ...span, elements });
      offset = span.end;
      // `01` or `truex` would otherwise read as two events.
      if (offset < body.length && !isWhitespace(body.charCodeAt(offset)))
        throw new JsonSyntaxError(offset, `expected a line break after an event, found ${describe(body, offset)}`);
    }
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    // Cut short: the line where the unfinished event starts says more than the end of the text.
    if (skipWhitespace(body, error.offset) >= body.length) {
      const { line } = lineAndColumn(body, offset);
      throw new CliError(
        `${source}:${line}: not JSON: the event that starts on line ${line} is cut short (${error.message})`,
        {
          code: 'E_FUNCTION_EVENT_INVALID',
          hint: eventHint,
        },
      );
    }
    throw fail(error.offset, error.message);
  }
  const only = values.length === 1 ? values[0]! : undefined;
  if (only !== undefined && body[only.start] === '[') {
    if (only.elements.length === 0)
      throw new CliError(`${source}: holds an empty array, so no event`, {
        code: 'E_FUNCTION_EVENT_INVALID',
        hint: eventHint,
      });
    return only.elements.map((element, index) => ({
      payload: body.slice(element.start, element.end),
      source: `${source}[${index}]`,
    }));
  }
  if (only !== undefined) return [{ payload: body.slice(only.start, only.end), source }];
  return values.map((value) => ({
    payload: body.slice(value.start, value.end),
    source: `${source}:${lineAndColumn(body, value.start).line}`,
  }));
}

/** Reads all of a stream as UTF-8 text, refusing more than `maximumBytes`. */
async function readStream(stream: AsyncIterable<Buffer | string>, maximumBytes: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    length += buffer.length;
    if (length > maximumBytes) return undefined;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The events of `--event FILE` (relative to `baseDirectory`), or of stdin
 * for `--event -`. Messages name the flag and the file.
 */
export async function loadEvents(
  event: string,
  options: { baseDirectory: string; stdin?: AsyncIterable<Buffer | string> | undefined },
): Promise<InvokeEvent[]> {
  const tooLarge = `is over ${maximumEventFileBytes / 1024 / 1024} MiB; a Lambda event is at most 6 MB`;
  if (event === '-') {
    if (options.stdin === undefined)
      throw new CliError('--event -: no standard input to read the events from', {
        code: 'E_FUNCTION_EVENT_UNREADABLE',
        hint: 'pipe the events in, such as: echo \'{"key": 1}\' | ext dev --function … --event -',
      });
    const text = await readStream(options.stdin, maximumEventFileBytes);
    if (text === undefined)
      throw new CliError(`--event -: standard input ${tooLarge}`, { code: 'E_FUNCTION_EVENT_UNREADABLE' });
    return prefixed(() => parseEvents(text, 'stdin'));
  }
  const file = path.resolve(options.baseDirectory, event);
  let content: Awaited<ReturnType<typeof readRegularFileUpTo>>;
  try {
    content = await readRegularFileUpTo(file, maximumEventFileBytes);
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new CliError(
      `--event: ${missing ? `${file} does not exist` : `cannot read ${file}: ${errorMessage(error)}`}`,
      {
        code: 'E_FUNCTION_EVENT_UNREADABLE',
        hint: 'pass a JSON file with the event(s), or - to read them from stdin',
      },
    );
  }
  if (!Buffer.isBuffer(content)) {
    const problem = content.problem === 'too-large' ? tooLarge : 'is not a regular file';
    throw new CliError(`--event: ${file} ${problem}`, {
      code: 'E_FUNCTION_EVENT_UNREADABLE',
      hint: 'pass a JSON file with the event(s), or - to read them from stdin',
    });
  }
  const text = content.toString('utf8');
  return prefixed(() => parseEvents(text, event));
}

function prefixed(parse: () => InvokeEvent[]): InvokeEvent[] {
  try {
    return parse();
  } catch (error) {
    if (error instanceof CliError)
      throw new CliError(`--event ${error.message}`, {
        code: error.code,
        ...(error.hint === undefined ? {} : { hint: error.hint }),
      });
    throw error;
  }
}

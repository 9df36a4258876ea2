import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CliError } from '../../src/core/errors.js';
import type { ErrorCode } from '../../src/core/error-codes.js';
import { loadEvents, parseEvents } from '../../src/core/function/index.js';
import { lineAndColumn, scanJsonValue } from '../../src/core/function/events.js';

const withCode =
  (code: ErrorCode, message?: RegExp) =>
  (error: unknown): boolean =>
    error instanceof CliError && error.code === code && (message === undefined || message.test(error.message));

/** Any JSON value, numbers included. */
const jsonValue = fc.jsonValue();

describe('parseEvents', () => {
  it('one JSON value is one event, its bytes kept as written', () => {
    const text = '{ "b": 1.50, "a": [1e3, "x"] }\n';
    assert.deepEqual(parseEvents(text, 'event.json'), [{ payload: text.trim(), source: 'event.json' }]);
    assert.deepEqual(parseEvents('"text"', 'e'), [{ payload: '"text"', source: 'e' }]);
    assert.deepEqual(parseEvents(' 12 ', 'e'), [{ payload: '12', source: 'e' }]);
  });

  it('a JSON array is one event per element; an array event is wrapped in another', () => {
    assert.deepEqual(
      parseEvents('[{"n": 1}, {"n": 2},\n 3]', 'events.json').map((event) => [event.payload, event.source]),
      [
        ['{"n": 1}', 'events.json[0]'],
        ['{"n": 2}', 'events.json[1]'],
        ['3', 'events.json[2]'],
      ],
    );
    assert.deepEqual(
      parseEvents('[[1, 2]]', 'e').map((event) => event.payload),
      ['[1, 2]'],
    );
  });

  it('JSON Lines (or values in a row) give one event per value, named by their line', () => {
    const events = parseEvents('{"n": 1}\n\n{"n": 2}\r\n[3]\n{\n  "n": 4\n}\n', 'events.jsonl');
    assert.deepEqual(
      events.map((event) => [event.payload, event.source]),
      [
        ['{"n": 1}', 'events.jsonl:1'],
        ['{"n": 2}', 'events.jsonl:3'],
        ['[3]', 'events.jsonl:4'],
        ['{\n  "n": 4\n}', 'events.jsonl:5'],
      ],
    );
  });

  it('a byte-order mark is skipped', () => {
    assert.deepEqual(parseEvents('\ufeff{"a":1}', 'e'), [{ payload: '{"a":1}', source: 'e' }]);
  });

  it('text that is not JSON gets one line naming the source, the line and the column', () => {
    assert.throws(
      () => parseEvents('{"a": 1}\n{"b": 2,}\n', 'events.jsonl'),
      withCode('E_FUNCTION_EVENT_INVALID', /^events\.jsonl:2:9: not JSON: expected a property name/),
    );
    assert.throws(
      () => parseEvents('{\n  "a": 1\n  "b": 2\n}', 'event.json'),
      withCode('E_FUNCTION_EVENT_INVALID', /^event\.json:3:3: not JSON: expected ',' or '}'/),
    );
    assert.throws(() => parseEvents('hello', 'stdin'), withCode('E_FUNCTION_EVENT_INVALID', /^stdin:1:1: /));
    assert.throws(() => parseEvents("{'a': 1}", 'e'), withCode('E_FUNCTION_EVENT_INVALID', /^e:1:2: /));
    assert.throws(() => parseEvents('01', 'e'), withCode('E_FUNCTION_EVENT_INVALID', /^e:1:2: /));
    assert.throws(() => parseEvents('[1,]', 'e'), withCode('E_FUNCTION_EVENT_INVALID', /^e:1:4: /));
    assert.throws(() => parseEvents('"a\tb"', 'e'), withCode('E_FUNCTION_EVENT_INVALID', /control character/));
    assert.throws(() => parseEvents('"\\x"', 'e'), withCode('E_FUNCTION_EVENT_INVALID', /unknown escape/));
  });

  it('an event cut short is named by the line it starts on', () => {
    assert.throws(
      () => parseEvents('{"a": 1}\n{"b":\n', 'events.jsonl'),
      withCode('E_FUNCTION_EVENT_INVALID', /^events\.jsonl:2: not JSON: the event that starts on line 2 is cut short/),
    );
  });

  it('empty text and an empty array hold no event', () => {
    assert.throws(() => parseEvents(' \n', 'e'), withCode('E_FUNCTION_EVENT_INVALID', /holds no event/));
    assert.throws(() => parseEvents('[]', 'e'), withCode('E_FUNCTION_EVENT_INVALID', /empty array/));
  });

  it('deep nesting is scanned without recursion', () => {
    const depth = 200_000;
    const text = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    assert.equal(parseEvents(`[${text}]`, 'e')[0]!.payload, text);
  });

  it('property: any JSON value round-trips as one event (an array as its elements)', () => {
    fc.assert(
      fc.property(jsonValue, fc.boolean(), (value, pretty) => {
        const text = JSON.stringify(value, null, pretty ? 2 : undefined);
        if (Array.isArray(value) && value.length === 0) {
          assert.throws(() => parseEvents(text, 'e'), withCode('E_FUNCTION_EVENT_INVALID'));
          return;
        }
        const events = parseEvents(text, 'e');
        if (Array.isArray(value)) {
          // Against the text parsed, not `value`: JSON has no -0, so a nested -0 comes back as 0.
          assert.deepEqual(
            events.map((event) => JSON.parse(event.payload) as unknown),
            JSON.parse(text),
          );
        } else {
          assert.equal(events.length, 1);
          assert.equal(events[0]!.payload, text);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('property: JSON Lines of any values give one event per line, in order', () => {
    fc.assert(
      fc.property(fc.array(jsonValue, { minLength: 2, maxLength: 8 }), (values) => {
        const lines = values.map((value) => JSON.stringify(value));
        const events = parseEvents(`${lines.join('\n')}\n`, 'e.jsonl');
        assert.deepEqual(
          events.map((event) => event.payload),
          lines,
        );
        assert.deepEqual(
          events.map((event) => event.source),
          lines.map((_, index) => `e.jsonl:${index + 1}`),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('property: the scanner accepts exactly what JSON.parse accepts', () => {
    const almostJson = fc.oneof(
      jsonValue.map((value) => JSON.stringify(value)),
      fc.string({ maxLength: 12 }),
      fc.stringMatching(/^[[\]{}",:0-9a-z.\-+eE \\]{0,16}$/),
    );
    fc.assert(
      fc.property(almostJson, (text) => {
        let parses = true;
        try {
          JSON.parse(text);
        } catch {
          parses = false;
        }
        let scans = true;
        try {
          const { end } = scanJsonValue(text, 0);
          if (!/^[ \t\n\r]*$/.test(text.slice(end))) scans = false;
        } catch {
          scans = false;
        }
        assert.equal(scans, parses, `scanner and JSON.parse disagree on ${JSON.stringify(text)}`);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: a line that is not JSON among good lines is named by its number', () => {
    fc.assert(
      fc.property(
        fc.array(jsonValue, { minLength: 1, maxLength: 6 }),
        fc.nat(),
        fc.constantFrom('nope', '{"a":}', '[1,,2]', '{a: 1}', "'x'"),
        (values, at, bad) => {
          const lines = values.map((value) => JSON.stringify(value));
          const index = at % (lines.length + 1);
          lines.splice(index, 0, bad);
          assert.throws(
            () => parseEvents(lines.join('\n'), 'e.jsonl'),
            withCode('E_FUNCTION_EVENT_INVALID', new RegExp(`^e\\.jsonl:${index + 1}[:]`)),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('lineAndColumn counts from 1', () => {
    assert.deepEqual(lineAndColumn('ab\ncd', 0), { line: 1, column: 1 });
    assert.deepEqual(lineAndColumn('ab\ncd', 4), { line: 2, column: 2 });
  });
});

describe('loadEvents', () => {
  it('reads a file relative to the base folder and names it in errors', async () => {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'function-events-'));
    try {
      await writeFile(path.join(folder, 'events.json'), '[{"a": 1}, {"a": 2}]');
      await writeFile(path.join(folder, 'bad.json'), '{"a": 1');
      assert.equal((await loadEvents('events.json', { baseDirectory: folder })).length, 2);
      await assert.rejects(
        loadEvents('bad.json', { baseDirectory: folder }),
        withCode('E_FUNCTION_EVENT_INVALID', /^--event bad\.json:1: /),
      );
      await assert.rejects(
        loadEvents('missing.json', { baseDirectory: folder }),
        withCode('E_FUNCTION_EVENT_UNREADABLE', /does not exist/),
      );
      await assert.rejects(loadEvents('.', { baseDirectory: folder }), withCode('E_FUNCTION_EVENT_UNREADABLE'));
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('- reads the stream it is given (stdin)', async () => {
    const stdin = (async function* () {
      yield Buffer.from('{"a": 1}\n');
      yield '{"a": 2}\n';
    })();
    const events = await loadEvents('-', { baseDirectory: '/', stdin });
    assert.deepEqual(
      events.map((event) => [event.payload, event.source]),
      [
        ['{"a": 1}', 'stdin:1'],
        ['{"a": 2}', 'stdin:2'],
      ],
    );
    await assert.rejects(loadEvents('-', { baseDirectory: '/' }), withCode('E_FUNCTION_EVENT_UNREADABLE'));
  });
});

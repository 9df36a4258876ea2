import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExtensionsApiError } from '../src/extensions-api.js';
import { createLogger } from '../src/log.js';

function capture(level?: 'debug' | 'info' | 'warn' | 'error') {
  const lines: string[] = [];
  const log = createLogger({ ...(level ? { level } : {}), base: { extension: 'my-ext' }, write: (line) => lines.push(line) });
  return { log, lines };
}

test('each line is one JSON object starting with level and msg', () => {
  const { log, lines } = capture();
  log.info('invoke', { requestId: 'r-1' });
  assert.deepEqual(lines, ['{"level":"info","msg":"invoke","extension":"my-ext","requestId":"r-1"}\n']);
});

test('fields cannot overwrite level or msg', () => {
  const { log, lines } = capture();
  log.warn('real', { level: 'debug', msg: 'fake' });
  assert.deepEqual(JSON.parse(lines[0] ?? ''), { level: 'warn', msg: 'real', extension: 'my-ext' });
});

test('lines below the level are dropped, and the level can change at run time', () => {
  const { log, lines } = capture('warn');
  log.info('hidden');
  log.error('shown');
  log.level = 'debug';
  log.debug('now shown');
  assert.deepEqual(
    lines.map((line) => (JSON.parse(line) as { msg: string }).msg),
    ['shown', 'now shown'],
  );
});

test('errors keep their message and typed fields; odd values do not throw', () => {
  const { log, lines } = capture();
  const circular: Record<string, unknown> = {};
  circular['self'] = circular;
  log.error('failed', { error: new ExtensionsApiError(403, 'Extension.InvalidEventType', 'nope', '/register'), count: 10n });
  log.error('odd', { circular });
  const first = JSON.parse(lines[0] ?? '') as { error: Record<string, unknown>; count: string };
  assert.equal(first.error['name'], 'ExtensionsApiError');
  assert.equal(first.error['status'], 403);
  assert.equal(first.error['errorType'], 'Extension.InvalidEventType');
  assert.match(String(first.error['message']), /\/register answered 403/);
  assert.equal(first.count, '10');
  assert.equal((JSON.parse(lines[1] ?? '') as { msg: string }).msg, 'odd');
});

import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import type { TimelineEntry } from '../../src/core/emulator/index.js';
import {
  DeliveryTracker,
  distribution,
  formatSinkReport,
  functionRecordOf,
  parseBatch,
  percentile,
  settingsPrefixFor,
  sinkEnvironment,
  type SinkReport,
} from '../../src/core/sink/index.js';

const functionLog = (line: string, requestId = 'r1', withRecord = true): TimelineEntry => ({
  elapsedMs: 0,
  time: new Date(0).toISOString(),
  kind: 'function-log',
  text: `1970-01-01T00:00:00.000Z\t${requestId}\tINFO\t${line}`,
  requestId,
  ...(withRecord ? { data: { record: line } } : {}),
});

describe('sink: delivery delay', () => {
  it('matches each received function record to its production, in order, and times it', () => {
    const tracker = new DeliveryTracker();
    tracker.observe(functionLog('hello'), 100);
    tracker.observe(functionLog('hello', 'r2'), 200);
    tracker.observe(functionLog('other'), 250);
    tracker.observe({ ...functionLog('x'), kind: 'output' }, 260);
    assert.equal(tracker.linesProduced, 3);
    tracker.received(
      [
        { time: 't', type: 'platform.start', record: { requestId: 'r1' } },
        { time: 't', type: 'function', record: 'hello' },
      ],
      130,
    );
    tracker.received(
      [
        { time: 't', type: 'function', record: 'hello' },
        { time: 't', type: 'function', record: 'other' },
        { time: 't', type: 'function', record: 'hello' },
      ],
      300,
    );
    assert.equal(tracker.batches, 2);
    assert.equal(tracker.linesReceived, 3);
    // The third "hello" matches no production.
    assert.equal(tracker.unexpectedRecords, 1);
    assert.deepEqual(tracker.deliveryDelay(), { p50: 50, p99: 100, max: 100 });
    assert.deepEqual(tracker.deliveries(), [
      { requestId: 'r1', delayMs: 30 },
      { requestId: 'r2', delayMs: 100 },
      { requestId: 'r1', delayMs: 50 },
    ]);
  });

  it('matches JSON records by their content', () => {
    const tracker = new DeliveryTracker();
    tracker.produced({ level: 'INFO', message: 'm' }, 10);
    tracker.received([{ type: 'function', record: { level: 'INFO', message: 'm' } }], 15);
    assert.equal(tracker.linesReceived, 1);
    assert.equal(tracker.unexpectedRecords, 0);
  });

  it('reads the record from data.record, else from the line without its time, request id and level', () => {
    assert.equal(functionRecordOf(functionLog('a\tb')), 'a\tb');
    assert.equal(functionRecordOf(functionLog('a\tb', 'r', false)), 'a\tb');
    assert.equal(functionRecordOf({ ...functionLog('x', 'r', false), text: 'raw' }), 'raw');
  });

  it('percentiles by nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, index) => index + 1);
    assert.equal(percentile(values, 0.5), 50);
    assert.equal(percentile(values, 0.99), 99);
    assert.equal(percentile([], 0.5), undefined);
    assert.deepEqual(distribution([3, 1, 2]), { p50: 2, p99: 3, max: 3 });
    assert.equal(distribution([]), undefined);
  });
});

describe('sink: what the receiver accepts', () => {
  const batch = [{ time: 't', type: 'function', record: 'hello' }];
  it('a JSON array, gzipped or not', () => {
    assert.deepEqual(parseBatch(Buffer.from(JSON.stringify(batch)), undefined), batch);
    assert.deepEqual(parseBatch(gzipSync(JSON.stringify(batch)), 'gzip'), batch);
  });
  it('nothing else', () => {
    assert.equal(parseBatch(Buffer.from('{"a":1}'), undefined), undefined);
    assert.equal(parseBatch(Buffer.from('not json'), undefined), undefined);
    assert.equal(parseBatch(Buffer.from(JSON.stringify(batch)), 'gzip'), undefined);
    assert.deepEqual(parseBatch(Buffer.from('[1, null, {"type":"function"}]'), undefined), [{ type: 'function' }]);
  });
});

describe('sink: the variables that point an extension at it', () => {
  it('use the prefix the templates compute from the extension name', () => {
    assert.equal(settingsPrefixFor('my-ext'), 'MY_EXT_');
    assert.equal(settingsPrefixFor('1password'), 'EXT_1PASSWORD_');
    assert.equal(settingsPrefixFor('a..b'), 'A_B_');
    assert.deepEqual(sinkEnvironment(['my-ext', 'other'], 'http://127.0.0.1:1/ingest'), {
      MY_EXT_SINK: 'http',
      MY_EXT_HTTP_URL: 'http://127.0.0.1:1/ingest',
      OTHER_SINK: 'http',
      OTHER_HTTP_URL: 'http://127.0.0.1:1/ingest',
    });
  });
});

describe('sink: the text report', () => {
  const base: SinkReport = {
    url: 'http://127.0.0.1:1/ingest',
    variables: [],
    batches: 2,
    malformedRequests: 0,
    linesProduced: 10,
    linesReceived: 10,
    unexpectedRecords: 0,
    deliveryDelayMs: { p50: 30, p99: 45.5, max: 46 },
    postRuntimeMs: { p50: 31, p99: 40, max: 41 },
    invokes: 5,
  };
  it('says what arrived, how late, and the post-runtime time', () => {
    assert.equal(
      formatSinkReport(base),
      'sink: 10 of 10 function log line(s) received in 2 batch(es); delivery delay p50 30.0 ms, p99 45.5 ms, max 46.0 ms; post-runtime time per invoke p50 31.0 ms, p99 40.0 ms',
    );
  });
  it('says where to look when nothing arrived', () => {
    const text = formatSinkReport({ ...base, batches: 0, linesReceived: 0, deliveryDelayMs: undefined });
    assert.match(text, /nothing reached http:\/\/127\.0\.0\.1:1\/ingest/u);
    assert.match(text, /<PREFIX>SINK=http/u);
  });
});

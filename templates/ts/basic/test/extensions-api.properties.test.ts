import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeEvent, ExtensionsApiError } from '../src/extensions-api.js';
import { settingsPrefixFor } from '../src/extension.js';

// A fixed seed keeps `npm test` repeatable; FUZZ_SEED=<n> replays a failure or explores further.
fc.configureGlobal({ seed: Number(process.env['FUZZ_SEED'] ?? 1), ...fc.readConfigureGlobal() });

const text = fc.oneof(fc.string(), fc.constantFrom('INVOKE', 'SHUTDOWN', 'spindown', '', '1700000000000'));
const deadline = fc.oneof(fc.integer(), fc.double(), fc.constantFrom('1700000000000', '12.5', '', 'soon', '1e3', null), fc.jsonValue());
const eventBody = fc.oneof(
  fc
    .record(
      {
        eventType: fc.oneof(fc.constantFrom('INVOKE', 'SHUTDOWN', 'invoke'), fc.jsonValue()),
        deadlineMs: deadline,
        requestId: fc.oneof(text, fc.jsonValue()),
        invokedFunctionArn: fc.oneof(text, fc.jsonValue()),
        tracing: fc.oneof(fc.record({ type: fc.oneof(text, fc.jsonValue()), value: fc.oneof(text, fc.jsonValue()) }), fc.jsonValue()),
        shutdownReason: fc.oneof(text, fc.jsonValue()),
      },
      { requiredKeys: [] },
    )
    .map((body) => JSON.stringify(body)),
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc.string(),
);

test('property: any event/next body decodes to a well-formed event or an ExtensionsApiError', () => {
  fc.assert(
    fc.property(eventBody, (body) => {
      let event;
      try {
        event = decodeEvent(body);
      } catch (error) {
        assert.ok(error instanceof ExtensionsApiError, `decodeEvent threw ${String(error)}`);
        return;
      }
      assert.ok(event.eventType === 'INVOKE' || event.eventType === 'SHUTDOWN');
      assert.ok(Number.isFinite(event.deadlineMs), `deadlineMs ${event.deadlineMs}`);
      if (event.eventType === 'INVOKE') {
        assert.equal(typeof event.requestId, 'string');
        assert.equal(typeof event.invokedFunctionArn, 'string');
        if (event.tracing !== undefined) assert.equal(typeof event.tracing.value, 'string');
      } else {
        assert.equal(typeof event.shutdownReason, 'string');
      }
    }),
  );
});

test('property: any extension name gives a prefix Lambda accepts in a variable name', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme' }), (name) => {
      assert.match(settingsPrefixFor(name), /^[A-Z][A-Z0-9_]*_$/, `settingsPrefixFor(${JSON.stringify(name)})`);
    }),
  );
});

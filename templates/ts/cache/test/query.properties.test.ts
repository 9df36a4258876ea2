import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parameterKey, parseParameterQuery, parseSecretQuery, QueryError, secretKey } from '../src/query.js';

// A fixed seed keeps `npm test` repeatable; FUZZ_SEED=<n> replays a failure or explores further. Settings made
// before this file loads (a longer fuzzing run's) win.
fc.configureGlobal({ seed: Number(process.env['FUZZ_SEED'] ?? 1), numRuns: 1000, ...fc.readConfigureGlobal() });

const key = fc.constantFrom('name', 'withDecryption', 'version', 'label', 'secretId', 'versionId', 'versionStage', 'other');
const value = fc.oneof(fc.string(), fc.constantFrom('true', 'false', '3', '03', '0', 'prod', 'AWSCURRENT', '%zz', '%0A', 'a+b', ''));
const rawQuery = fc.oneof(
  fc.array(fc.tuple(key, value), { maxLength: 6 }).map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&')),
  fc.array(fc.tuple(key, value), { maxLength: 6 }).map((pairs) => new URLSearchParams(pairs).toString()),
  fc.string(),
);

test('property: any parameters query parses to a well-formed query or a QueryError, and parses back the same', () => {
  fc.assert(
    fc.property(rawQuery, (raw) => {
      let parsed;
      try {
        parsed = parseParameterQuery(raw);
      } catch (error) {
        assert.ok(error instanceof QueryError, `${JSON.stringify(raw)}: ${String(error)}`);
        return;
      }
      assert.ok(parsed.name.length > 0);
      assert.equal(parameterKey(parsed).split('\n').length, 3, 'no extra separator in the cache key');
      const again = new URLSearchParams({ name: parsed.name, ...(parsed.withDecryption ? { withDecryption: 'true' } : {}) });
      assert.deepEqual(parseParameterQuery(again.toString()), parsed);
    }),
  );
});

test('property: any secrets query parses to a well-formed query or a QueryError, and parses back the same', () => {
  fc.assert(
    fc.property(rawQuery, (raw) => {
      let parsed;
      try {
        parsed = parseSecretQuery(raw);
      } catch (error) {
        assert.ok(error instanceof QueryError, `${JSON.stringify(raw)}: ${String(error)}`);
        return;
      }
      assert.ok(parsed.secretId.length > 0);
      assert.equal(secretKey(parsed).split('\n').length, 4);
      const again = new URLSearchParams({ secretId: parsed.secretId });
      if (parsed.versionId !== '') again.set('versionId', parsed.versionId);
      if (parsed.versionStage !== '') again.set('versionStage', parsed.versionStage);
      assert.deepEqual(parseSecretQuery(again.toString()), parsed);
    }),
  );
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parameterInput, parameterKey, parseParameterQuery, parseSecretQuery, QueryError, secretInput } from '../src/query.js';

test('parameter queries: name, withDecryption, version and label, as GetParameter takes them', () => {
  const cases: Array<[string, { name: string; withDecryption: boolean }]> = [
    ['name=%2Fapp%2Fdb-url', { name: '/app/db-url', withDecryption: false }],
    ['name=db&withDecryption=true', { name: 'db', withDecryption: true }],
    ['name=db&withDecryption=TRUE', { name: 'db', withDecryption: true }],
    ['name=db&version=3', { name: 'db:3', withDecryption: false }],
    ['name=db&label=prod&withDecryption=true', { name: 'db:prod', withDecryption: true }],
    ['name=db&unknown=ignored', { name: 'db', withDecryption: false }],
    ['name=a+b', { name: 'a b', withDecryption: false }],
  ];
  for (const [rawQuery, want] of cases) assert.deepEqual(parseParameterQuery(rawQuery), want, rawQuery);
});

test('parameter queries that are refused name the query parameter', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /name is missing/],
    ['name=', /name is missing/],
    ['name=a&name=b', /name is given 2 times/],
    ['name=a&withDecryption=yes', /withDecryption/],
    ['name=a&version=x', /version/],
    ['name=a&version=0', /version/],
    ['name=a&version=3&label=prod', /version and label/],
    ['name=a%0Ab', /control character/],
    ['name=%zz', /does not parse/],
    [`name=${'a'.repeat(2049)}`, /at most 2048/],
  ];
  for (const [rawQuery, message] of cases) {
    assert.throws(() => parseParameterQuery(rawQuery), (error) => error instanceof QueryError && message.test(error.message), rawQuery);
  }
});

test('secret queries: secretId, versionId and versionStage', () => {
  assert.deepEqual(parseSecretQuery('secretId=prod%2Fdb&versionStage=AWSPREVIOUS&versionId=v1'), { secretId: 'prod/db', versionId: 'v1', versionStage: 'AWSPREVIOUS' });
  assert.throws(() => parseSecretQuery('versionStage=AWSCURRENT'), /secretId is missing/);
});

test('the JSON sent to AWS uses the operations’ member names and leaves out what the query did not give', () => {
  assert.deepEqual(parameterInput({ name: 'db:3', withDecryption: true }), { Name: 'db:3', WithDecryption: true });
  assert.deepEqual(secretInput({ secretId: 'db', versionId: '', versionStage: 'AWSPREVIOUS' }), { SecretId: 'db', VersionStage: 'AWSPREVIOUS' });
  assert.notEqual(parameterKey({ name: 'a', withDecryption: false }), parameterKey({ name: 'a', withDecryption: true }));
});

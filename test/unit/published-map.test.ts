import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { parsePublishedMap, writePublishedMap, type PublishedMapEntry } from '../../src/core/publish/published-map.js';
import { temporaryDirectory } from '../helpers/paths.js';

test('a failed publish keeps the ARN an earlier run recorded for the same bytes', async () => {
  const workspace = await temporaryDirectory('cle-published-map-');
  try {
    const file = path.join(workspace.path, 'published.json');
    const good: PublishedMapEntry = {
      layerName: 'demo-x86_64',
      arn: 'arn:aws:lambda:us-east-1:111122223333:layer:demo-x86_64:3',
      version: 3,
      codeSha256: 'abc=',
      bytes: 100,
      status: 'published',
    };
    await writeFile(file, JSON.stringify({ 'us-east-1': { x86_64: good } }));
    const failed: PublishedMapEntry = { layerName: 'demo-x86_64', codeSha256: 'abc=', bytes: 100, status: 'failed' };
    const merged = await writePublishedMap(
      file,
      { 'us-east-1': { x86_64: failed } },
      new Map([['x86_64', 'abc=']]),
      async () => '111122223333',
    );
    assert.deepEqual(merged['us-east-1']?.x86_64, good);
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), merged);
  } finally {
    await workspace.cleanup();
  }
});

const entry = (arn: string): PublishedMapEntry => ({
  layerName: 'demo-x86_64',
  arn,
  version: 3,
  codeSha256: 'abc=',
  bytes: 100,
  status: 'published',
});

test("an earlier entry is kept only when its ARN is the caller's account, in that region", async () => {
  const workspace = await temporaryDirectory('cle-published-map-');
  try {
    const file = path.join(workspace.path, 'published.json');
    const own = entry('arn:aws:lambda:eu-west-1:111122223333:layer:demo-x86_64:3');
    await writeFile(
      file,
      JSON.stringify({
        'eu-west-1': { x86_64: own },
        // Another account's layer, with our bytes' hash: a committed published.json could say anything.
        'us-east-1': { x86_64: entry('arn:aws:lambda:us-east-1:999988887777:layer:demo-x86_64:1') },
        // Our account, but an ARN of another region filed under this one.
        'ap-south-1': { x86_64: entry('arn:aws:lambda:us-east-1:111122223333:layer:demo-x86_64:3') },
      }),
    );
    const merged = await writePublishedMap(file, {}, new Map([['x86_64', 'abc=']]), async () => '111122223333');
    assert.deepEqual(merged, { 'eu-west-1': { x86_64: own } });
  } finally {
    await workspace.cleanup();
  }
});

test('a __proto__ or constructor key in published.json is dropped, and pollutes nothing', async () => {
  const workspace = await temporaryDirectory('cle-published-map-');
  try {
    const file = path.join(workspace.path, 'published.json');
    const own = entry('arn:aws:lambda:us-east-1:111122223333:layer:demo-x86_64:3');
    await writeFile(
      file,
      `{"__proto__": {"x86_64": ${JSON.stringify(own)}}, "constructor": {"x86_64": ${JSON.stringify(own)}}}`,
    );
    const fresh: PublishedMapEntry = { ...own, arn: 'arn:aws:lambda:eu-west-1:111122223333:layer:demo-arm64:1' };
    const merged = await writePublishedMap(
      file,
      { 'eu-west-1': { arm64: fresh } },
      new Map([['x86_64', 'abc=']]),
      async () => '111122223333',
    );
    assert.equal(({} as Record<string, unknown>)['x86_64'], undefined, 'Object.prototype is untouched');
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), { 'eu-west-1': { arm64: fresh } });
    assert.deepEqual(merged, { 'eu-west-1': { arm64: fresh } });
  } finally {
    await workspace.cleanup();
  }
});

test('the account is asked only when an earlier entry could be kept; an unknown account keeps none', async () => {
  const workspace = await temporaryDirectory('cle-published-map-');
  try {
    const file = path.join(workspace.path, 'published.json');
    let asked = 0;
    const unknown = async (): Promise<undefined> => {
      asked += 1;
      return undefined;
    };
    await writePublishedMap(file, {}, new Map([['x86_64', 'abc=']]), unknown);
    assert.equal(asked, 0, 'no earlier map: no call');
    await writeFile(
      file,
      JSON.stringify({ 'us-east-1': { x86_64: entry('arn:aws:lambda:us-east-1:111122223333:layer:demo-x86_64:3') } }),
    );
    assert.deepEqual(await writePublishedMap(file, {}, new Map([['x86_64', 'abc=']]), unknown), {});
    assert.equal(asked, 1);
  } finally {
    await workspace.cleanup();
  }
});

test("a failed entry's code is read back when it is one of ours, and dropped when it is not", () => {
  const failed = { layerName: 'demo-x86_64', codeSha256: 'abc=', bytes: 100, status: 'failed', error: 'denied' };
  const map = parsePublishedMap(
    JSON.stringify({
      'us-east-1': { x86_64: { ...failed, code: 'E_AWS_ACCESS_DENIED' }, arm64: { ...failed, code: 'E_MADE_UP' } },
    }),
  );
  assert.equal(map['us-east-1']?.x86_64?.code, 'E_AWS_ACCESS_DENIED');
  assert.equal(map['us-east-1']?.arm64?.code, undefined);
  assert.equal(map['us-east-1']?.arm64?.error, 'denied');
});

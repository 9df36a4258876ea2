import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { writePublishedMap, type PublishedMapEntry } from '../../src/core/publish/published-map.js';
import { temporaryDirectory } from '../helpers/run-cli.js';

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
    const merged = await writePublishedMap(file, { 'us-east-1': { x86_64: failed } }, new Map([['x86_64', 'abc=']]));
    assert.deepEqual(merged['us-east-1']?.x86_64, good);
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), merged);
  } finally {
    await workspace.cleanup();
  }
});

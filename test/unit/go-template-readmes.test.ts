import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repositoryRoot } from '../helpers/paths.js';

/**
 * What the Go templates' READMEs promise about the code beside them (issue
 * 25): the statements a review found wrong or missing.
 */
const readme = (template: string): Promise<string> =>
  readFile(path.join(repositoryRoot, 'templates', 'go', template, 'README.md.hbs'), 'utf8');

function section(text: string, heading: string): string {
  const start = text.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `no "## ${heading}" section`);
  const end = text.indexOf('\n## ', start + 1);
  return text.slice(start, end < 0 ? undefined : end);
}

describe('Go template READMEs', () => {
  for (const template of ['basic', 'telemetry']) {
    it(`${template}: Managed Instances names AWS_LAMBDA_INITIALIZATION_TYPE, then AWS_LAMBDA_MAX_CONCURRENCY`, async () => {
      const text = section(await readme(template), 'Lambda Managed Instances');
      const initializationType = text.indexOf('AWS_LAMBDA_INITIALIZATION_TYPE');
      const maxConcurrency = text.indexOf('AWS_LAMBDA_MAX_CONCURRENCY');
      assert.ok(initializationType >= 0 && maxConcurrency > initializationType, text);
    });
  }

  it('telemetry: the per-invoke round, the port, redirects, Retry-After and the idempotency key', async () => {
    const text = await readme('telemetry');
    assert.doesNotMatch(text, /at most one batch/u);
    assert.match(text, /\| `<PREFIX>PORT` \| `0` \|/u);
    assert.doesNotMatch(text, /all interfaces/u);
    assert.match(text, /127\.0\.0\.1/u);
    assert.match(text, /redirects are not followed/iu);
    assert.match(text, /Retry-After/u);
    assert.match(text, /Idempotency-Key/u);
    assert.match(text, /droppedByLambda/u);
    const flushMinRecords = text.split('\n').find((line) => line.startsWith('| `<PREFIX>FLUSH_MIN_RECORDS`'));
    assert.match(flushMinRecords ?? '', /round trip/u);
  });
});

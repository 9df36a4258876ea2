import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, describe, test } from 'node:test';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { publish } from '../../src/core/publish/index.js';
import { isolateAwsEnvironment } from '../helpers/aws-environment.js';
import { fakePackedProject } from '../helpers/packed-project.js';
import { temporaryDirectory } from '../helpers/paths.js';

/* Split from test/unit/publish.test.ts: the SDK's own retries need a real HTTP endpoint on a socket. */

const lambda = mockClient(LambdaClient);
const sts = mockClient(STSClient);
sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012' });

isolateAwsEnvironment();

describe('publish: the SDK retries throttling itself', () => {
  let server: Server;
  let requests = 0;
  let project: string;

  before(async () => {
    server = createServer((request, response) => {
      requests += 1;
      request.resume();
      if (requests <= 2) {
        response.writeHead(429, { 'content-type': 'application/json', 'x-amzn-errortype': 'TooManyRequestsException' });
        response.end(JSON.stringify({ message: 'Rate exceeded', Type: 'User' }));
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ LayerVersions: [] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    project = (await temporaryDirectory('publish-retry-')).path;
    await fakePackedProject(project, { x86_64: 100 });
  });
  afterEach(() => lambda.restore());
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('two 429 answers, then the real one: the dry run succeeds after three requests', async () => {
    lambda.restore();
    const result = await publish({
      projectDirectory: project,
      regions: ['us-east-1'],
      dryRun: true,
      endpointUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    });
    assert.equal(result.failed, 0, result.targets[0]?.error);
    assert.equal(result.targets[0]?.status, 'would-publish');
    assert.equal(requests, 3);
  });
});

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { EmulatorReport } from '../../src/core/emulator/index.js';
import { hostArchitecture } from '../../src/core/layer/architectures.js';
import { installMoto, motoEnvironment, startMoto, type MotoServer } from '../helpers/moto-server.js';
import { environmentWith, lambdaNodeVersions, nodeBinary } from '../helpers/node-versions.js';
import { availableTemplates, templateInfo } from '../../src/core/templates/index.js';
import { keys, startTerminal } from '../helpers/pseudo-terminal.js';
import { createBin, describeRun, run, runCreate, temporaryDirectory } from '../helpers/run-cli.js';
import { scaled } from '../helpers/time-scale.js';

/**
 * The cache template in both languages, from the toolkit's packed tarball (a
 * project created from this checkout depends on the tarball it carries in
 * vendor/): npm install, the project's own tests against one shared moto
 * (Go under -race, TypeScript on each of Lambda's node versions), npm run
 * build and pack, and the layer under ext dev in both Lambda modes, asked
 * for a secret that moto holds while the emulator runs it.
 */

const moto = await installMoto();
if ('skip' in moto) process.stdout.write(`# skipping the cache template tests: ${moto.skip}\n`);

let server: MotoServer | undefined;
let workspace: { path: string; cleanup: () => Promise<void> } | undefined;
before(async () => {
  if ('skip' in moto) return;
  server = await startMoto(moto.python);
  workspace = await temporaryDirectory('cle-template-cache-');
});
after(async () => {
  await server?.stop();
  await workspace?.cleanup();
});

const architecture = hostArchitecture() ?? 'x86_64';
const token = 'cache-e2e-token';

/** Seeds moto straight over its JSON protocol (moto routes by the signing scope and checks no signature). */
async function motoCall(service: 'ssm' | 'secretsmanager', operation: string, input: unknown): Promise<unknown> {
  const target = service === 'ssm' ? `AmazonSSM.${operation}` : `secretsmanager.${operation}`;
  const response = await fetch(`${server!.endpoint}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': target,
      authorization: `AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify(input),
  });
  const text = await response.text();
  assert.equal(response.status, 200, `${operation}: ${text}`);
  return JSON.parse(text);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject()));
    });
  });
}

/** The extension's own JSON log lines from an ext dev report. */
function extensionLines(report: EmulatorReport, name: string): Record<string, unknown>[] {
  return report.timeline
    .filter((entry) => entry.kind === 'output' && entry.extension === name)
    .map((entry) => (entry as { text: string }).text.slice(`[${name}] `.length))
    .filter((text) => text.startsWith('{'))
    .map((text) => JSON.parse(text) as Record<string, unknown>);
}

const quiet = ['--no-audit', '--no-fund', '--loglevel=error'];

describe('cache template in the catalog', () => {
  it('is listed for both languages, and chosen at the prompt it registers INVOKE and SHUTDOWN without asking', async () => {
    for (const language of ['go', 'ts'] as const) {
      assert.ok((await availableTemplates(language)).includes('cache'), language);
      assert.match((await templateInfo(language, 'cache')).description, /AWS's extension/);
    }
    const directory = await temporaryDirectory('cle-cache-prompt-');
    try {
      const session = startTerminal([process.execPath, createBin], { cwd: directory.path });
      await session.waitFor(/Project directory/);
      session.type(`prompted-cache${keys.enter}`);
      await session.waitFor(/Language/);
      session.type(keys.enter); // Go
      await session.waitFor(/cache/);
      session.type(keys.down + keys.enter); // basic, cache, telemetry
      await session.waitFor(/Architectures/);
      session.type(keys.enter);
      await session.waitFor(/Continuous integration/);
      session.type(keys.enter);
      await session.waitFor(/Infrastructure as code/);
      session.type(keys.enter);
      const { code, output } = await session.exited;
      assert.equal(code, 0, output);
      assert.doesNotMatch(output, /Events to register for/, 'the template fixes its events');
      const config = JSON.parse(
        await readFile(path.join(directory.path, 'prompted-cache', 'lambda-extension.json'), 'utf8'),
      ) as { events: string[] };
      assert.deepEqual(config.events, ['INVOKE', 'SHUTDOWN']);
      assert.ok(existsSync(path.join(directory.path, 'prompted-cache', 'awsapi', 'client.go')));
    } finally {
      await directory.cleanup();
    }
  });
});

for (const language of ['go', 'ts'] as const) {
  describe(
    `cache template, ${language === 'go' ? 'Go' : 'TypeScript'}`,
    { skip: 'skip' in moto ? moto.skip : false },
    () => {
      const name = `cache-${language}`;
      let project: string;

      before(async () => {
        project = path.join(workspace!.path, name);
        const created = await runCreate([project, '--lang', language, '--template', 'cache', '--yes']);
        assert.equal(created.code, 0, describeRun(created));
        const install = await run('npm', ['install', ...quiet], { cwd: project, timeoutMs: 300_000 });
        assert.equal(install.code, 0, describeRun(install));
        assert.ok(existsSync(path.join(project, 'node_modules', '.bin', 'ext')), 'ext is installed from the tarball');
      });

      it('lists the template and writes its README with the failure rules and the measured costs', async () => {
        const readme = await readFile(path.join(project, 'README.md'), 'utf8');
        for (const heading of [
          '## Failure rules',
          '## Configuration',
          '## Lambda Managed Instances',
          '## Why the signer',
        ]) {
          assert.ok(readme.includes(heading), heading);
        }
        assert.match(readme, /\*\*off by default\*\*/, 'stale-on-error is off by default, and says so');
        assert.match(readme, /answered\s+\*\*403\*\*/);
        const prefix = `CACHE_${language.toUpperCase()}_`;
        assert.ok(readme.includes(`${prefix}STALE_ON_ERROR`), 'the README names the real prefixed variable');
        const config = JSON.parse(await readFile(path.join(project, 'lambda-extension.json'), 'utf8')) as {
          events: string[];
        };
        assert.deepEqual(config.events, ['INVOKE', 'SHUTDOWN']);
        const help = await runCreate(['--help']);
        assert.match(help.stdout, /cache \(parameters and secrets/);
      });

      if (language === 'go') {
        it('passes its own go vet and go test -race, the moto tests included', async () => {
          const env = { MOTO_ENDPOINT_URL: server!.endpoint };
          const vet = await run('go', ['vet', './...'], { cwd: project, timeoutMs: 300_000 });
          assert.equal(vet.code, 0, describeRun(vet));
          const test = await run('go', ['test', '-race', '-count=1', '-v', './...'], {
            cwd: project,
            env,
            timeoutMs: 600_000,
          });
          assert.equal(test.code, 0, describeRun(test));
          const motoTests = ['TestMotoParameters', 'TestMotoSecrets', 'TestMotoTTLExpiry', 'TestMotoStoppedMidRun'];
          motoTests.push('TestMotoTokenIsChecked', 'TestMotoOneCallForAHundredConcurrentRequests');
          for (const motoTest of motoTests) {
            assert.match(test.stdout, new RegExp(`^--- PASS: ${motoTest} `, 'm'), `${motoTest} ran and passed`);
          }
          assert.doesNotMatch(test.stdout, /^--- SKIP/m);
        });
      } else {
        for (const version of lambdaNodeVersions) {
          it(`passes its own npm test on node ${version}, the moto and property tests included`, async (t) => {
            const found = await nodeBinary(version);
            if ('skip' in found) {
              t.skip(found.skip);
              return;
            }
            // Without NODE_TEST_CONTEXT, which this file's own run sets: a nested node --test would skip every file.
            const env = {
              ...environmentWith(found.binary),
              NODE_TEST_CONTEXT: undefined,
              MOTO_ENDPOINT_URL: server!.endpoint,
            };
            const test = await run('npm', ['test'], { cwd: project, env, timeoutMs: 300_000 });
            assert.equal(test.code, 0, describeRun(test));
            assert.match(test.stdout, /^(?:# |ℹ )fail 0$/m);
            assert.match(test.stdout, /^(?:# |ℹ )skipped 0$/m, 'the moto tests ran');
            assert.ok(Number(/^(?:# |ℹ )pass (\d+)$/m.exec(test.stdout)?.[1] ?? 0) >= 40, describeRun(test));
            assert.match(test.stdout, /100 concurrent requests for one cold key make one call to moto/);
            assert.match(test.stdout, /property: any parameters query parses/);
          });
        }
      }

      it('npm run build and npm run pack make the layer', async () => {
        const built = await run('npm', ['run', 'build', '--', '--arch', architecture], {
          cwd: project,
          timeoutMs: 300_000,
        });
        assert.equal(built.code, 0, describeRun(built));
        const packed = await run('npm', ['run', 'pack', '--', '--arch', architecture], {
          cwd: project,
          timeoutMs: 300_000,
        });
        assert.equal(packed.code, 0, describeRun(packed));
        assert.ok(existsSync(path.join(project, 'dist', `${name}-${architecture}.zip`)));
      });

      for (const managed of [false, true]) {
        it(`runs under ext dev${managed ? ' on Managed Instances (SHUTDOWN only)' : ''} and serves moto's secret on 127.0.0.1`, async () => {
          const secretId = `/e2e/${name}/${managed ? 'managed' : 'standard'}`;
          await motoCall('secretsmanager', 'CreateSecret', { Name: secretId, SecretString: 'from-moto' });
          const port = await freePort();
          const env: Record<string, string> = {
            AWS_ACCESS_KEY_ID: String(motoEnvironment['AWS_ACCESS_KEY_ID']),
            AWS_SECRET_ACCESS_KEY: String(motoEnvironment['AWS_SECRET_ACCESS_KEY']),
            AWS_REGION: String(motoEnvironment['AWS_REGION']),
            AWS_SESSION_TOKEN: token,
            AWS_ENDPOINT_URL: server!.endpoint,
            PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(port),
            PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL: 'debug',
          };
          const args = [
            'run',
            '--silent',
            'dev',
            '--',
            '--layer',
            path.join('dist', architecture),
            '--json',
            '--no-freeze',
            // The layer alone: the example function of dev.function would ask for a secret of its own.
            '--no-function',
          ];
          args.push(
            '--invokes',
            '6',
            '--interval',
            '400',
            ...Object.entries(env).flatMap(([key, value]) => ['--env', `${key}=${value}`]),
          );
          if (managed) args.push('--managed-instances', '--concurrency', '2');
          const dev = run('npm', args, { cwd: project, timeoutMs: 120_000 });

          // Asked as the function would, while the emulator runs the layer.
          const deadline = Date.now() + scaled(30_000);
          let answers: Array<{ status: number; body: Record<string, unknown>; cache: string | null }> = [];
          while (Date.now() < deadline) {
            try {
              const ask = async () => {
                const response = await fetch(
                  `http://127.0.0.1:${port}/secretsmanager/get?secretId=${encodeURIComponent(secretId)}`,
                  {
                    headers: { 'X-Aws-Parameters-Secrets-Token': token },
                  },
                );
                return {
                  status: response.status,
                  body: (await response.json()) as Record<string, unknown>,
                  cache: response.headers.get('x-cache'),
                };
              };
              answers = await Promise.all([ask(), ask(), ask()]);
              answers.push(await ask());
              break;
            } catch {
              await new Promise((resolve) => setTimeout(resolve, 50));
            }
          }
          const wrong =
            answers.length > 0
              ? await fetch(`http://127.0.0.1:${port}/secretsmanager/get?secretId=x`, {
                  headers: { 'X-Aws-Parameters-Secrets-Token': 'wrong' },
                })
              : undefined;
          const result = await dev;
          assert.equal(result.code, 0, describeRun(result));
          assert.equal(answers.length, 4, `the cache never answered on 127.0.0.1:${port}\n${describeRun(result)}`);
          for (const answer of answers) {
            assert.equal(answer.status, 200, JSON.stringify(answer.body));
            assert.equal(answer.body['SecretString'], 'from-moto');
          }
          assert.equal(answers.at(-1)?.cache, 'hit');
          assert.equal(wrong?.status, 403);

          const report = JSON.parse(result.stdout) as EmulatorReport;
          assert.equal(report.status, 'passed');
          assert.deepEqual(report.verdicts, []);
          assert.deepEqual(
            report.extensions.find((extension) => extension.name === name)?.events,
            managed ? ['SHUTDOWN'] : ['INVOKE', 'SHUTDOWN'],
          );
          const shutdown = report.shutdown?.extensions.find((extension) => extension.name === name);
          assert.equal(shutdown?.outcome, 'exited');
          assert.equal(shutdown?.exitCode, 0);
          const lines = extensionLines(report, name);
          const listening = lines.find((line) => line['msg'] === 'listening');
          assert.equal(listening?.['address'], `127.0.0.1:${port}`);
          const totals = lines.find((line) => line['msg'] === 'cache totals');
          assert.equal(
            totals?.['awsCalls'],
            1,
            `three concurrent misses and a hit: one call (${JSON.stringify(totals)})`,
          );
          const output = JSON.stringify(lines);
          assert.ok(
            !output.includes('from-moto') && !output.includes(token),
            'no value and no token in the logs, at debug level',
          );
        });
      }

      for (const managed of [false, true]) {
        it(`runs its example function under ext dev${managed ? ' on Managed Instances' : ''}: every invoke gets the secret, one call to moto`, async () => {
          const secretId = `/e2e/${name}/example-function/${managed ? 'managed' : 'standard'}`;
          const secret = 'from-moto-for-the-example-function';
          await motoCall('secretsmanager', 'CreateSecret', { Name: secretId, SecretString: secret });
          const invokes = 4;
          const events = path.join(workspace!.path, `${name}-${managed ? 'managed' : 'standard'}-events.json`);
          await writeFile(events, JSON.stringify(Array.from({ length: invokes }, () => ({ secretId }))));
          // Fake credentials, passed on by --pass-aws-credentials; the session token is the cache's token.
          const env = {
            AWS_ACCESS_KEY_ID: String(motoEnvironment['AWS_ACCESS_KEY_ID']),
            AWS_SECRET_ACCESS_KEY: String(motoEnvironment['AWS_SECRET_ACCESS_KEY']),
            AWS_SESSION_TOKEN: token,
            AWS_CONFIG_FILE: motoEnvironment['AWS_CONFIG_FILE'],
            AWS_SHARED_CREDENTIALS_FILE: motoEnvironment['AWS_SHARED_CREDENTIALS_FILE'],
            AWS_PROFILE: undefined,
          };
          // Its own port: 2773 may be taken on a shared machine. The function reads the same variable.
          const port = await freePort();
          const args = ['run', '--silent', 'dev', '--', '--layer', path.join('dist', architecture), '--json'];
          args.push('--pass-aws-credentials', '--env', `AWS_ENDPOINT_URL=${server!.endpoint}`);
          args.push('--env', `PARAMETERS_SECRETS_EXTENSION_HTTP_PORT=${port}`, '--event', events);
          if (managed) args.push('--managed-instances');
          const result = await run('npm', args, { cwd: project, env, timeoutMs: 180_000 });
          assert.equal(result.code, 0, describeRun(result));

          const report = JSON.parse(result.stdout) as EmulatorReport;
          assert.equal(report.status, 'passed');
          assert.deepEqual(report.verdicts, []);
          assert.equal(report.computeMode, managed ? 'managed-instances' : 'on-demand');
          assert.equal(report.invokes.length, invokes);
          // On demand one invoke at a time: a miss, then hits. On Managed Instances they run at once, and the
          // concurrent misses still make one call (single flight).
          if (managed) assert.ok(report.maxInFlight > 1, `invokes in flight at once: ${report.maxInFlight}`);
          const outcomes = report.invokes.map(
            (invoke) => (JSON.parse(invoke.response?.payload ?? '{}') as { secret?: { cache?: string } }).secret?.cache,
          );
          if (!managed) assert.deepEqual(outcomes, ['miss', 'hit', 'hit', 'hit']);
          for (const invoke of report.invokes) {
            assert.equal(invoke.response?.kind, 'response', JSON.stringify(invoke.response));
            const answer = JSON.parse(invoke.response.payload) as {
              secret?: { name?: string; found?: boolean; length?: number };
            };
            assert.deepEqual(
              { name: answer.secret?.name, found: answer.secret?.found, length: answer.secret?.length },
              { name: secretId, found: true, length: secret.length },
              invoke.response.payload,
            );
            assert.ok(!invoke.response.payload.includes(secret), 'the function answers the length, not the value');
          }
          const totals = extensionLines(report, name).find((line) => line['msg'] === 'cache totals');
          assert.equal(totals?.['awsCalls'], 1, `${invokes} invokes, one call to moto (${JSON.stringify(totals)})`);
          assert.ok(
            !result.stdout.includes(secret) && !result.stdout.includes(token),
            'no value, no token in the report',
          );
        });
      }
    },
  );
}

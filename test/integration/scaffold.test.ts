import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CancelledError } from '../../src/core/errors.js';
import { addCi } from '../../src/core/infrastructure/index.js';
import { scaffold } from '../../src/core/create/index.js';
import { temporaryDirectory } from '../helpers/paths.js';

/* Split from test/unit/scaffold.test.ts: a scaffolded project vendors the toolkit, which runs npm pack. */

describe('Ctrl-C while files are written', () => {
  it('create and ext add ci, aborted, leave nothing: no project, no workflows, no staging folder', async () => {
    const workspace = await temporaryDirectory('abort-write-');
    try {
      const aborted = AbortSignal.abort();
      const directory = path.join(workspace.path, 'never');
      await assert.rejects(
        scaffold({
          directory,
          name: 'never',
          language: 'go',
          template: 'basic',
          architectures: ['x86_64'],
          events: ['INVOKE', 'SHUTDOWN'],
          ci: 'github',
          signal: aborted,
        }),
        CancelledError,
      );
      assert.deepEqual(await readdir(workspace.path), [], 'no project and no .never.create-* folder');

      const project = path.join(workspace.path, 'project');
      await scaffold({
        directory: project,
        name: 'project',
        language: 'ts',
        template: 'basic',
        architectures: ['arm64'],
        events: ['INVOKE', 'SHUTDOWN'],
      });
      const before = (await readdir(project)).sort();
      await assert.rejects(addCi({ projectDirectory: project, provider: 'github', signal: aborted }), CancelledError);
      assert.deepEqual((await readdir(project)).sort(), before, 'no .github and no .ext-add-* folder');
    } finally {
      await workspace.cleanup();
    }
  });
});

describe('generated TypeScript projects: what they claim', () => {
  for (const template of ['basic', 'telemetry'] as const) {
    it(`${template}: Node 22 in engines, @types/node and README; the README names both Managed Instances variables and NODE_OPTIONS`, async () => {
      const workspace = await temporaryDirectory('scaffold-claims-');
      try {
        const project = path.join(workspace.path, 'claims');
        await scaffold({
          directory: project,
          name: 'claims',
          language: 'ts',
          template,
          architectures: ['x86_64'],
          events: ['INVOKE', 'SHUTDOWN'],
        });
        const manifest = JSON.parse(await readFile(path.join(project, 'package.json'), 'utf8'));
        assert.equal(manifest.engines.node, '>=22');
        assert.match(manifest.devDependencies['@types/node'], /^\^22\./);
        const readme = await readFile(path.join(project, 'README.md'), 'utf8');
        assert.match(readme, /nodejs22\.x/);
        const initialization = readme.indexOf('AWS_LAMBDA_INITIALIZATION_TYPE');
        const concurrency = readme.indexOf('AWS_LAMBDA_MAX_CONCURRENCY');
        assert.ok(initialization >= 0 && concurrency > initialization, 'INITIALIZATION_TYPE named, and first');
        assert.match(readme, /unsets `NODE_OPTIONS`/);
      } finally {
        await workspace.cleanup();
      }
    });
  }
});

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadPeerDependency, missingPeerDependency } from '../../src/core/peer-dependencies.js';
import { withCode } from '../helpers/error-code.js';
import { repositoryRoot } from '../helpers/paths.js';

interface Manifest {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const readManifest = async (file: string): Promise<Manifest> =>
  JSON.parse(await readFile(path.join(repositoryRoot, file), 'utf8')) as Manifest;

/** A template's package.json.hbs as JSON, its handlebars values replaced by placeholders. */
async function templateManifest(language: string): Promise<Manifest> {
  const text = await readFile(path.join(repositoryRoot, 'templates', language, 'basic', 'package.json.hbs'), 'utf8');
  return JSON.parse(text.replace('{{toolkitDependencyJson}}', '"x"').replace(/\{\{[^}]+\}\}/g, 'x')) as Manifest;
}

describe('peer dependencies: what npx installs, and what a project installs', () => {
  it('the package has no runtime dependencies: everything it needs is bundled or an optional peer', async () => {
    const manifest = await readManifest('package.json');
    assert.deepEqual(manifest.dependencies ?? {}, {});
    const peers = Object.keys(manifest.peerDependencies ?? {});
    assert.ok(peers.includes('esbuild') && peers.some((name) => name.startsWith('@aws-sdk/')));
    for (const name of peers) {
      assert.equal(manifest.peerDependenciesMeta?.[name]?.optional, true, `${name} is an optional peer`);
      assert.equal(manifest.devDependencies?.[name], manifest.peerDependencies?.[name], `${name}: the checkout's own`);
    }
  });

  it('generated projects list the peers they use, with the same ranges', async () => {
    const { peerDependencies = {} } = await readManifest('package.json');
    for (const language of ['ts', 'go']) {
      const { devDependencies = {} } = await templateManifest(language);
      for (const [name, range] of Object.entries(peerDependencies)) {
        // Go projects bundle nothing: esbuild is for TypeScript only. Every project may publish.
        if (language === 'go' && name === 'esbuild') continue;
        assert.equal(devDependencies[name], range, `${language}: ${name}`);
      }
    }
  });

  it('a missing peer is one line naming the exact npm install -D to run', async () => {
    const missing = Object.assign(new Error("Cannot find package 'esbuild' imported from /x/y.mjs"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    await assert.rejects(
      loadPeerDependency('esbuild', 'bundling a TypeScript extension', () => Promise.reject(missing)),
      (error: Error & { hint?: string }) => {
        withCode('E_PEER_DEPENDENCY_MISSING')(error);
        assert.match(error.message, /^bundling a TypeScript extension needs esbuild\b/, 'names what needs it');
        assert.match(error.hint ?? '', /npm install -D esbuild@\^0\.\d+\.\d+ /);
        return true;
      },
    );
    assert.match(missingPeerDependency('@aws-sdk/client-s3', 'ext publish').hint ?? '', /@aws-sdk\/client-s3@\^3\./);
    // A dependency of the peer missing is not the peer missing: that error goes through as it is.
    const deeper = Object.assign(new Error("Cannot find module '@smithy/core'"), { code: 'MODULE_NOT_FOUND' });
    await assert.rejects(
      loadPeerDependency('@aws-sdk/client-s3', 'ext publish', () => Promise.reject(deeper)),
      (error) => error === deeper,
    );
  });
});

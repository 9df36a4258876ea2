import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findToolkitSource, writeVendoredToolkit } from '../../src/core/create/toolkit-source.js';
import { temporaryDirectory } from '../helpers/paths.js';

describe('findToolkitSource', () => {
  let workspace: { path: string; cleanup: () => Promise<void> };
  before(async () => {
    workspace = await temporaryDirectory('cle-toolkit-source-');
  });
  after(async () => workspace.cleanup());

  async function installedWith(resolved: string | undefined): Promise<string> {
    const project = path.join(workspace.path, `p${Math.random().toString(36).slice(2)}`);
    const toolkit = path.join(project, 'node_modules', 'create-lambda-extension');
    await mkdir(toolkit, { recursive: true });
    const entry = resolved === undefined ? { version: '0.1.0' } : { version: '0.1.0', resolved };
    await writeFile(
      path.join(project, 'package-lock.json'),
      JSON.stringify({ packages: { 'node_modules/create-lambda-extension': entry } }),
    );
    return toolkit;
  }

  it('keeps a caret range for a registry install', async () => {
    const toolkit = await installedWith('https://registry.npmjs.org/create-lambda-extension/-/x-0.1.0.tgz');
    assert.deepEqual(await findToolkitSource(toolkit, '0.1.0'), { dependency: '^0.1.0', origin: 'registry' });
  });

  it('vendors the exact tarball that was installed by path, and points at the copy', async () => {
    const toolkit = await installedWith('file:../create-lambda-extension-0.1.0.tgz');
    const project = path.dirname(path.dirname(toolkit));
    const tarball = path.resolve(project, '../create-lambda-extension-0.1.0.tgz');
    await writeFile(tarball, 'the tarball');
    const source = await findToolkitSource(toolkit, '0.1.0');
    assert.deepEqual(source, {
      dependency: 'file:./vendor/create-lambda-extension-0.1.0.tgz',
      origin: 'tarball',
      vendor: { path: 'vendor/create-lambda-extension-0.1.0.tgz', packageDirectory: toolkit, tarball },
    });
    const made = path.join(workspace.path, 'made');
    await writeVendoredToolkit(source.vendor, made);
    assert.equal(await readFile(path.join(made, 'vendor', 'create-lambda-extension-0.1.0.tgz'), 'utf8'), 'the tarball');
  });

  it('assumes the registry when there is no lock file entry', async () => {
    const toolkit = await installedWith(undefined);
    assert.equal((await findToolkitSource(toolkit, '0.1.0')).origin, 'registry');
  });

  it('vendors a pack of a checkout, never its absolute path', async () => {
    const checkout = path.join(workspace.path, 'checkout');
    await mkdir(path.join(checkout, '.git'), { recursive: true });
    assert.deepEqual(await findToolkitSource(checkout, '0.1.0'), {
      dependency: 'file:./vendor/create-lambda-extension-0.1.0.tgz',
      origin: 'checkout',
      vendor: { path: 'vendor/create-lambda-extension-0.1.0.tgz', packageDirectory: checkout },
    });
  });
});

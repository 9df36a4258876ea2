import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { renameExtension } from '../../src/core/rename/index.js';
import { withCode } from '../helpers/error-code.js';

/** ext rename refuses what is not a project the way every project command does: with a config code. */
describe('ext rename outside a project', () => {
  const folders: string[] = [];
  const folder = async (): Promise<string> => {
    const created = await mkdtemp(path.join(os.tmpdir(), 'cle-rename-unit-'));
    folders.push(created);
    return created;
  };
  after(() => Promise.all(folders.map((created) => rm(created, { recursive: true, force: true }))));

  it('a folder without lambda-extension.json is E_CONFIG_MISSING, and nothing is written', async () => {
    const directory = await folder();
    await writeFile(path.join(directory, 'README.md'), 'old-name\n');
    await assert.rejects(
      renameExtension({ projectDirectory: directory, newName: 'new-name' }),
      withCode('E_CONFIG_MISSING'),
    );
    assert.deepEqual(await readdir(directory), ['README.md']);
  });

  it('a folder that does not exist is E_CONFIG_PROJECT_MISSING; a broken config is E_CONFIG_NOT_JSON', async () => {
    const directory = await folder();
    await assert.rejects(
      renameExtension({ projectDirectory: path.join(directory, 'nowhere'), newName: 'new-name' }),
      withCode('E_CONFIG_PROJECT_MISSING'),
    );
    await writeFile(path.join(directory, 'lambda-extension.json'), '{"name": ');
    await assert.rejects(
      renameExtension({ projectDirectory: directory, newName: 'new-name' }),
      withCode('E_CONFIG_NOT_JSON'),
    );
  });
});

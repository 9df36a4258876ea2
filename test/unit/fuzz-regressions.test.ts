import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/core/config.js';
import { CliError } from '../../src/core/errors.js';
import { collectLayerEntries, zipContractProblems } from '../../src/core/pack/index.js';
import { defaultZipTimestamp, writeLayerZip } from '../../src/core/zip/index.js';
import { extensionNameProblem, goModuleProblem, npmNameProblem } from '../../src/core/names.js';

/**
 * Failures the fuzz targets (test/fuzz, `npm run fuzz`) found, kept as plain
 * cases so they stay fixed whatever the fuzzers draw next time.
 */
describe('found by fuzzing', () => {
  it('names-npm: a name starting with "-" is refused, as validate-npm-package-name does', () => {
    assert.match(npmNameProblem('-') ?? '', /starts with "-"/);
    assert.match(npmNameProblem('-ext') ?? '', /starts with "-"/);
    assert.equal(npmNameProblem('ext-'), undefined);
  });

  it('names-go: a dotted or zero-led major version suffix is refused, as module.SplitPathVersion does', () => {
    for (const refused of [
      'v0/v2.1',
      'example.com/x/v1.5',
      'example.com/x/v02',
      'example.com/x/v1',
      'example.com/x/v0',
    ])
      assert.match(goModuleProblem(refused) ?? '', /major version suffix/, refused);
    for (const accepted of ['example.com/x/v2', 'example.com/x/v10', 'v1', 'example.com/xv1', 'example.com/v2x'])
      assert.equal(goModuleProblem(accepted), undefined, accepted);
  });

  it('names-go: gopkg.in paths must end in .vN, as module.SplitPathVersion requires', () => {
    assert.match(goModuleProblem('gopkg.in/yaml') ?? '', /gopkg\.in/);
    assert.match(goModuleProblem('gopkg.in/yaml.v01') ?? '', /gopkg\.in/);
    assert.equal(goModuleProblem('gopkg.in/yaml.v3'), undefined);
    assert.equal(goModuleProblem('gopkg.in/yaml.v0'), undefined);
  });

  it('names-go: com0 and lpt0 are not Windows device names (module.CheckPath accepts them)', () => {
    assert.equal(goModuleProblem('com0'), undefined);
    assert.equal(goModuleProblem('example.com/lpt0.x'), undefined);
    assert.match(goModuleProblem('example.com/com1') ?? '', /reserved file name/);
  });

  it('config: huge keys and values are cut in the one-line error', () => {
    const valid = { name: 'demo', language: 'go', entry: '.', architectures: ['x86_64'], version: '1.0.0' };
    const cases = [
      { ...valid, ['k'.repeat(100_000)]: 1 },
      { ...valid, name: 'n'.repeat(100_000) },
      { ...valid, language: 'l'.repeat(100_000) },
      { ...valid, architectures: ['a'.repeat(100_000)] },
      { ...valid, nodeOptions: ['$'.repeat(100_000)] },
      { ...valid, language: 'go\nts' },
    ];
    for (const config of cases) {
      assert.throws(
        () => parseConfig(JSON.stringify(config), 'lambda-extension.json'),
        (error: unknown) => error instanceof CliError && error.message.length < 1_000 && !error.message.includes('\n'),
      );
    }
    assert.match(extensionNameProblem('x\ny') ?? '', /"x\\ny"/);
  });

  it('zip-round-trip: folders whose names sort differently with their "/" ("K" and "K+a") pass the zip contract', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'fuzz-regression-'));
    try {
      const layer = path.join(root, 'layer');
      for (const folder of ['K', 'K+a', 'K-a', 'K.a'])
        await mkdir(path.join(layer, folder, 'a'), { recursive: true }).then(() =>
          writeFile(path.join(layer, folder, 'a', 'file'), folder),
        );
      const entries = await collectLayerEntries(layer);
      const zipPath = path.join(root, 'layer.zip');
      await writeLayerZip(entries, zipPath, { timestamp: defaultZipTimestamp });
      assert.deepEqual(zipContractProblems(await readFile(zipPath), defaultZipTimestamp), []);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { docsPath, generateErrorDocs, readCatalog, sourceFiles } from '../../scripts/error-docs.js';
import { errorCodes } from '../../src/core/error-codes.js';
import { repositoryRoot } from '../helpers/paths.js';

/**
 * The catalog, the code and the docs agree. Everything is read from the files at test time, so codes that
 * other changes add are checked the same way.
 */
describe('error codes', () => {
  const catalogFile = 'src/core/error-codes.ts';
  /** Each file of src/ but the catalog, with the codes quoted in it ('E_…', "E_…" or `E_…`). */
  const usedCodes = new Map<string, string[]>();
  for (const file of sourceFiles(repositoryRoot)) {
    if (file === catalogFile) continue;
    const text = readFileSync(path.join(repositoryRoot, file), 'utf8');
    for (const [, code] of text.matchAll(/['"`](E_[A-Z0-9_]+)['"`]/g)) {
      usedCodes.set(code!, [...(usedCodes.get(code!) ?? []), file]);
    }
  }

  it('every code in the catalog is used somewhere in src/', () => {
    const unused = Object.keys(errorCodes).filter((code) => !usedCodes.has(code));
    assert.deepEqual(unused, [], `listed in ${catalogFile} but thrown nowhere: remove them, or use them`);
  });

  it('every code used in src/ is in the catalog', () => {
    const unknown = [...usedCodes].filter(([code]) => !Object.hasOwn(errorCodes, code));
    assert.deepEqual(unknown, [], `add these to ${catalogFile}`);
  });

  it('codes are E_<AREA>_<WHAT> in upper snake case, meanings one line, each area block sorted', () => {
    const catalog = readCatalog(repositoryRoot);
    assert.deepEqual(
      catalog.map((entry) => entry.code),
      Object.keys(errorCodes),
      'the parser of the docs script sees the catalog',
    );
    for (const { code, meaning } of catalog) {
      assert.match(code, /^E_[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
      assert.ok(meaning.length > 0 && !meaning.includes('\n') && !meaning.endsWith('.'), code);
    }
    for (const area of new Set(catalog.map((entry) => entry.area))) {
      const codes = catalog.filter((entry) => entry.area === area).map((entry) => entry.code);
      assert.deepEqual(codes, [...codes].sort(), `the ${area} block is sorted`);
    }
  });

  it(`${docsPath} is what scripts/error-docs.ts writes from the catalog and the throw sites`, () => {
    const written = readFileSync(path.join(repositoryRoot, docsPath), 'utf8');
    assert.ok(
      written === generateErrorDocs(repositoryRoot),
      `${docsPath} is out of date: run npm run build && node build/scripts/error-docs.js`,
    );
    for (const code of Object.keys(errorCodes)) assert.ok(written.includes(`### ${code}\n`), code);
  });
});

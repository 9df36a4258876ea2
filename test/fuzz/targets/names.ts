import { builtinModules } from 'node:module';
import fc from 'fast-check';
import validateNpmPackageName from 'validate-npm-package-name';
import { goModuleProblem, npmNameProblem } from '../../../src/core/names.js';
import { check, runForBudget, type FuzzTarget } from '../harness.js';
import { GoModuleOracle, goModuleOracleBinary } from '../oracles/go-module-oracle.js';

/**
 * Our validators against the real rules. The cases we generate, and so the
 * claims we make, are:
 * - npm: unscoped names (we never make "@scope/name"), built from letters,
 *   digits, URL-special characters, spaces and a little Unicode, up to 230
 *   characters; the verdict must equal validate-npm-package-name's
 *   `validForNewPackages`.
 * - Go: well-formed Unicode paths up to 300 characters built from path
 *   elements, dots, slashes, tildes, version suffixes, Windows device names
 *   and noise; the verdict must equal what `go mod init` accepts, which is
 *   module.CheckImportPath plus module.SplitPathVersion, with CheckPath's
 *   stricter rules for each element (no leading dot: go mod init takes
 *   ".x", the module proxy does not), except for first elements we refuse
 *   on purpose (standard-library and go command names,
 *   whose projects would not build). Every path module.CheckPath accepts (a
 *   fetchable module path) must be accepted too.
 */

const npmPiece = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('a', 'z', 'ext', 'my', 'lambda', '0', '9', '-', '.', '_') },
  { weight: 2, arbitrary: fc.constantFrom('A', 'Z', '~', "'", '!', '(', ')', '*', ' ', '%', '/', '@', ':', '+', '#') },
  { weight: 1, arbitrary: fc.constantFrom(...builtinModules.slice(0, 80), 'node_modules', 'favicon.ico') },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 2 }) },
);
const npmName = fc.oneof(
  fc
    .array(npmPiece, { maxLength: 8 })
    .map((pieces) => pieces.join(''))
    .filter((name) => !(name.startsWith('@') && name.includes('/'))),
  fc.constantFrom('a'.repeat(214), 'a'.repeat(215), ` ${'a'.repeat(10)}`, 'http', 'fs/promises', 'node:fs', 'test'),
);

const goPiece = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.constantFrom('a', 'example', 'github', 'com', 'x', 'Z', '0', '9', '-', '_', '.', '~', '/'),
  },
  { weight: 3, arbitrary: fc.constantFrom('v0', 'v1', 'v2', 'v01', 'v10', 'v2.1', '.v2', 'gopkg.in', 'example.com') },
  {
    weight: 2,
    arbitrary: fc.constantFrom('CON', 'aux', 'nul.txt', 'com1', 'LPT9', 'com¹', '~1', 'abc~12', '..', '//'),
  },
  { weight: 1, arbitrary: fc.constantFrom(' ', '+', '@', '%', '\\', ':', '!', '*', 'é', '日', '\t', '"', "'") },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 2 }) },
);
const goPath = fc.array(goPiece, { maxLength: 14 }).map((pieces) => pieces.join(''));

const deliberatelyStricter = /standard-library package or a go command keyword/;

export const npmNamesTarget: FuzzTarget = {
  name: 'names-npm',
  description:
    'random unscoped npm names: npmNameProblem accepts exactly what validate-npm-package-name accepts for new packages',
  run(budget) {
    const property = fc.property(npmName, (name) => {
      const ours = npmNameProblem(name) === undefined;
      const theirs = validateNpmPackageName(name).validForNewPackages;
      check(
        ours === theirs,
        () =>
          `${JSON.stringify(name)}: we ${ours ? 'accept' : `refuse (${npmNameProblem(name)})`}, validate-npm-package-name ${theirs ? 'accepts' : 'refuses'}`,
      );
    });
    return runForBudget(this.name, property, budget, 500);
  },
};

export const goModulesTarget: FuzzTarget = {
  name: 'names-go',
  description:
    'random module paths: goModuleProblem accepts exactly what golang.org/x/mod/module (CheckImportPath + SplitPathVersion, as go mod init) accepts, and everything CheckPath accepts',
  async run(budget) {
    const found = await goModuleOracleBinary();
    if ('skip' in found) throw new Error(found.skip);
    const oracle = new GoModuleOracle(found.binary);
    try {
      const property = fc.asyncProperty(fc.array(goPath, { minLength: 1, maxLength: 40 }), async (paths) => {
        const verdicts = await oracle.verdicts(paths);
        paths.forEach((modulePath, index) => {
          const verdict = verdicts[index]!;
          const problem = goModuleProblem(modulePath);
          if (problem !== undefined && deliberatelyStricter.test(problem)) return;
          const ours = problem === undefined;
          const goModInit = verdict.checkImportPath === '' && verdict.splitOK && verdict.elementsOK;
          check(
            ours === goModInit,
            () =>
              `${JSON.stringify(modulePath)}: we ${ours ? 'accept' : `refuse (${problem})`}, go mod init ${goModInit ? 'accepts' : `refuses (${verdict.checkImportPath || 'bad major version suffix'})`}`,
          );
          check(
            verdict.checkPath !== '' || ours,
            () => `${JSON.stringify(modulePath)}: module.CheckPath accepts it, we refuse (${problem})`,
          );
        });
      });
      return await runForBudget(this.name, property, budget, 25);
    } finally {
      oracle.close();
    }
  },
};

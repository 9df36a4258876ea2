import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  architectureOfElfMachine,
  elfMachine,
  goArchitecture,
  parseArchitectures,
} from '../../src/core/layer/architectures.js';

describe('architectures', () => {
  it('maps Lambda names to Go names once', () => {
    assert.equal(goArchitecture('x86_64'), 'amd64');
    assert.equal(goArchitecture('arm64'), 'arm64');
  });
  it('maps ELF machines both ways', () => {
    assert.equal(elfMachine('x86_64'), 62);
    assert.equal(elfMachine('arm64'), 183);
    assert.equal(architectureOfElfMachine(183), 'arm64');
    assert.equal(architectureOfElfMachine(3), undefined);
  });
  it('parses lists, all, and keeps a stable order', () => {
    assert.deepEqual(parseArchitectures('arm64,x86_64'), ['x86_64', 'arm64']);
    assert.deepEqual(parseArchitectures('all'), ['x86_64', 'arm64']);
    assert.deepEqual(parseArchitectures(['arm64', ' arm64 ']), ['arm64']);
  });
  it('refuses Go names with a hint and unknown names', () => {
    assert.throws(() => parseArchitectures('amd64'), /unknown architecture "amd64" \(Lambda calls amd64 "x86_64"\)/);
    assert.throws(() => parseArchitectures('mips'), /unknown architecture "mips"; use x86_64, arm64 or all/);
    assert.throws(() => parseArchitectures(''), /no architecture given/);
  });
});

describe('ext dev: which architecture a project runs as', () => {
  it("--arch wins; else this machine's when the project builds it; else the project's first", async () => {
    const { devArchitecture } = await import('../../src/core/dev/node.js');
    assert.equal(devArchitecture({ architectures: ['x86_64', 'arm64'] }, 'arm64', 'x86_64'), 'arm64');
    assert.equal(devArchitecture({ architectures: ['x86_64', 'arm64'] }, undefined, 'arm64'), 'arm64');
    assert.equal(devArchitecture({ architectures: ['arm64'] }, undefined, 'x86_64'), 'arm64');
    assert.equal(devArchitecture({ architectures: ['x86_64'] }, undefined, 'arm64'), 'x86_64');
  });
});

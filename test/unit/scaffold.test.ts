import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CliError } from '../../src/core/errors.js';
import { goDirectiveOf, renderContext, type ScaffoldOptions } from '../../src/core/create/index.js';
import { validateScaffoldOptions } from '../../src/core/create/validate.js';
import { packageNameOf } from '../../src/core/names.js';
import {
  dotfileNames,
  moveIntoExistingDirectory,
  projectPathOf,
  templateInfo,
  templateSources,
} from '../../src/core/templates/index.js';
import { launcherScript } from '../../src/core/build/index.js';
import { infrastructureContext } from '../../src/core/infrastructure/templates.js';
import { temporaryDirectory } from '../helpers/paths.js';

describe('template paths', () => {
  it('renames stored dotfiles and strips .hbs', () => {
    assert.equal(projectPathOf('_gitignore'), '.gitignore');
    assert.equal(projectPathOf('_gitattributes'), '.gitattributes');
    assert.equal(projectPathOf('_github/workflows/ci.yml.hbs'), '.github/workflows/ci.yml');
    assert.equal(projectPathOf('README.md.hbs'), 'README.md');
    assert.equal(projectPathOf('extension/client.go'), 'extension/client.go');
  });
  it('renames only whole segments in the map', () => {
    assert.equal(projectPathOf('src/_gitignore_notes.txt'), 'src/_gitignore_notes.txt');
    assert.equal(projectPathOf('main_test.go'), 'main_test.go');
    for (const [stored, real] of Object.entries(dotfileNames)) assert.equal(real, `.${stored.slice(1)}`);
  });
});

describe('render context', () => {
  const context = renderContext(
    {
      directory: 'x',
      name: 'My.Ext',
      language: 'go',
      template: 'basic',
      architectures: ['x86_64', 'arm64'],
      events: ['SHUTDOWN'],
    },
    { goVersion: '1.26', toolkitVersion: '0.1.0' },
  );
  it('derives every variable', () => {
    assert.deepEqual(context, {
      // Without --ci and --iac the library generates neither.
      ...infrastructureContext({
        name: 'My.Ext',
        language: 'go',
        architectures: ['x86_64', 'arm64'],
        ci: 'none',
        iac: 'none',
      }),
      name: 'My.Ext',
      packageName: 'my.ext',
      language: 'go',
      template: 'basic',
      architectures: ['x86_64', 'arm64'],
      architecturesCsv: 'x86_64,arm64',
      architecturesSpaced: 'x86_64 arm64',
      architecturesJson: '["x86_64", "arm64"]',
      events: ['SHUTDOWN'],
      eventsJson: '["SHUTDOWN"]',
      registersInvoke: false,
      registersShutdown: true,
      goModule: 'My.Ext',
      goVersion: '1.26',
      toolkitVersion: '0.1.0',
      toolkitDependency: '^0.1.0',
      toolkitDependencyJson: '"^0.1.0"',
      toolkitFromRegistry: true,
      settingsPrefix: 'MY_EXT_',
      standalone: false,
      nodeVersion: '24',
      flush: 'adaptive',
    });
    assert.equal(context.ci, 'none');
    assert.equal(context.hasIac, false);
  });
  it('takes --flush for the telemetry template only, and only a strategy', async () => {
    const options: ScaffoldOptions = {
      directory: 'x',
      name: 'my-ext',
      language: 'go',
      template: 'telemetry',
      architectures: ['arm64'],
      events: ['INVOKE', 'SHUTDOWN'],
    };
    assert.equal(
      renderContext({ ...options, flush: 'periodic:500' }, { goVersion: '1.26', toolkitVersion: '0.1.0' }).flush,
      'periodic:500',
    );
    await validateScaffoldOptions({ ...options, flush: 'periodic:500' });
    const flushInvalid = (error: unknown) => error instanceof CliError && error.code === 'E_CREATE_FLUSH_INVALID';
    await assert.rejects(validateScaffoldOptions({ ...options, flush: 'periodic' }), flushInvalid);
    await assert.rejects(validateScaffoldOptions({ ...options, flush: 'sometimes' }), flushInvalid);
    await assert.rejects(validateScaffoldOptions({ ...options, template: 'basic', flush: 'end' }), flushInvalid);
  });
  it('makes npm-safe package names', () => {
    assert.equal(packageNameOf('Telemetry_Shipper'), 'telemetry_shipper');
    assert.equal(packageNameOf('9lives'), '9lives');
  });
  it('derives the go directive from the toolchain', () => {
    assert.equal(goDirectiveOf('go1.26.8\n'), '1.26');
    assert.equal(goDirectiveOf('go1.22rc1'), '1.22');
    assert.equal(goDirectiveOf('go1.19.3'), '1.21');
    assert.equal(goDirectiveOf('devel +abc'), undefined);
  });
});

describe('template layering', () => {
  it('a template that extends another gets the base files, with its own replacing same-named ones', async () => {
    const sources = await templateSources('go', 'telemetry');
    assert.match(sources.get('extension/client.go')!.templatePath, /^basic\//);
    assert.match(sources.get('main.go')!.templatePath, /^telemetry\//);
    assert.match(sources.get('telemetry/queue.go')!.templatePath, /^telemetry\//);
    assert.ok(!sources.has('template.json'), 'the manifest is never copied');
    assert.ok(sources.has('.gitignore'));
  });
  it('reads the description and fixed events from template.json', async () => {
    const info = await templateInfo('go', 'telemetry');
    assert.equal(info.extends, 'basic');
    // Telemetry takes --events SHUTDOWN too (then it ships on a timer).
    assert.equal(info.events, undefined);
    assert.notEqual((await templateInfo('go', 'basic')).description, '');
  });
  it('reads each template.json once, however often a command asks', async () => {
    assert.equal(await templateInfo('ts', 'telemetry'), await templateInfo('ts', 'telemetry'));
  });
  it('refuses a template that is not there, with a stable code', async () => {
    await assert.rejects(
      templateInfo('go', 'nope'),
      (error: unknown) => error instanceof CliError && error.code === 'E_TEMPLATE_UNKNOWN' && error.exitCode === 2,
    );
  });
});

describe('TypeScript launcher', () => {
  it('passes source maps and node flags before the bundle path, using only shell built-ins', () => {
    const script = launcherScript('my-ext', true, ['--max-semi-space-size=1']);
    assert.ok(script.startsWith('#!/bin/sh\n'));
    assert.ok(!script.includes('\r'));
    assert.match(
      script,
      /\nexec node --enable-source-maps --max-semi-space-size=1 "\$\{0%\/\*\}\/\.\.\/my-ext\/index\.mjs" "\$@"\n$/,
    );
    assert.doesNotMatch(script, /basename|dirname/);
    assert.match(
      script,
      /\nunset NODE_OPTIONS\n[^]*\nexec /,
      "the function's NODE_OPTIONS are cleared before node runs",
    );
  });
});

describe('moving rendered files into an existing folder', () => {
  it('a file that appeared since the check, and may not be replaced, stops the move and everything is put back', async () => {
    const workspace = await temporaryDirectory('move-into-');
    try {
      const staging = path.join(workspace.path, 'staging');
      const directory = path.join(workspace.path, 'project');
      for (const [file, text] of [
        ['a.txt', 'new a'],
        ['b/c.txt', 'new c'],
        ['d.txt', 'new d'],
      ] as const) {
        await mkdir(path.dirname(path.join(staging, file)), { recursive: true });
        await writeFile(path.join(staging, file), text);
      }
      await mkdir(path.join(directory, 'b'), { recursive: true });
      await writeFile(path.join(directory, 'a.txt'), 'old a');
      await writeFile(path.join(directory, 'b', 'c.txt'), 'mine');
      const files = ['a.txt', 'b/c.txt', 'd.txt'];
      const backups = path.join(staging, '.replaced');
      await assert.rejects(
        moveIntoExistingDirectory(staging, directory, files, backups, { mayReplace: (file) => file !== 'b/c.txt' }),
        (error: unknown) => error instanceof CliError && error.code === 'E_TEMPLATE_FILE_APPEARED',
      );
      assert.equal(await readFile(path.join(directory, 'a.txt'), 'utf8'), 'old a', 'the replaced file is back');
      assert.equal(await readFile(path.join(directory, 'b', 'c.txt'), 'utf8'), 'mine');
      assert.ok(!existsSync(path.join(directory, 'd.txt')));
    } finally {
      await workspace.cleanup();
    }
  });
});

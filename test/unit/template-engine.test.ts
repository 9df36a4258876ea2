import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import Handlebars from 'handlebars';
import { listFiles } from '../../src/core/fs-utils.js';
import { templatesRoot } from '../../src/core/paths.js';
import { renderContext } from '../../src/core/create/index.js';
import {
  handlebarsOptions,
  precompiledGroupOf,
  precompiledTemplatesDirectory,
  renderHandlebars,
  type PrecompiledTemplate,
} from '../../src/core/templates/render.js';

const context = renderContext(
  {
    directory: 'x',
    name: 'my-ext',
    language: 'go',
    template: 'basic',
    architectures: ['x86_64', 'arm64'],
    events: ['INVOKE', 'SHUTDOWN'],
    goModule: 'example.com/<my-ext>',
  },
  { goVersion: '1.26', toolkitVersion: '0.1.0' },
);

describe('template engine', () => {
  it('the build precompiled every template into its folder’s module, with the source it was compiled from', async () => {
    const sources = (await listFiles(templatesRoot)).filter((file) => file.endsWith('.hbs'));
    const modules = (await listFiles(precompiledTemplatesDirectory)).filter((file) => file.endsWith('.mjs'));
    const groups = [...new Set(sources.map(precompiledGroupOf))].sort();
    assert.deepEqual(modules.map((file) => file.replace(/\.mjs$/, '')).sort(), groups);
    assert.ok(groups.includes('go/basic') && groups.includes('shared/iac/sam'), groups.join(' '));
    const precompiled: Record<string, PrecompiledTemplate> = {};
    for (const module of modules) {
      const href = pathToFileURL(path.join(precompiledTemplatesDirectory, module)).href;
      const { templates } = (await import(href)) as { templates: Record<string, PrecompiledTemplate> };
      for (const [key, entry] of Object.entries(templates)) {
        assert.equal(`${precompiledGroupOf(key)}.mjs`, module, `${key} is in its folder's module`);
        precompiled[key] = entry;
      }
    }
    assert.deepEqual(Object.keys(precompiled).sort(), sources.sort());
    for (const file of sources) {
      assert.equal(precompiled[file]?.source, await readFile(path.join(templatesRoot, file), 'utf8'), file);
    }
  });

  it('precompiled output equals what the compiler makes, without HTML escaping', async () => {
    const key = 'go/basic/go.mod.hbs';
    const source = await readFile(path.join(templatesRoot, key), 'utf8');
    const rendered = await renderHandlebars(key, source, context);
    assert.equal(rendered, Handlebars.compile(source, handlebarsOptions)(context));
    assert.match(rendered, /^module example\.com\/<my-ext>$/m, 'no &lt; in Go source');
  });

  it('a template edited since the build is compiled from its source, not taken from the stale build', async () => {
    const rendered = await renderHandlebars('go/basic/go.mod.hbs', 'edited {{name}}\n', context);
    assert.equal(rendered, 'edited my-ext\n');
  });

  it('strict: an unknown variable is an error', async () => {
    await assert.rejects(renderHandlebars('nowhere.hbs', '{{nope}}', context), /"nope" not defined/);
  });
});

import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { toolkitRoot } from './paths.js';

/**
 * Renders `*.hbs` templates with handlebars, `noEscape` (HTML escaping inside
 * Go or TS source is a bug) and `strict` (an unknown variable is an error).
 *
 * `npm run build` precompiles the templates into build/templates-precompiled/,
 * one module per template folder (go/basic.mjs, shared/iac/sam.mjs), so that
 * scaffolding loads only handlebars' small runtime and the templates it uses,
 * and compiles nothing. Each entry carries the source it was compiled from: a
 * template edited since the build (or one added by hand) falls back to the
 * full compiler.
 */
export const handlebarsOptions = { noEscape: true, strict: true } as const;

export const precompiledTemplatesDirectory = path.join(toolkitRoot, 'build', 'templates-precompiled');

type TemplateSpec = object;
export interface PrecompiledTemplate {
  /** The text it was compiled from: comparing strings is one native call, hashing them in JS is not. */
  source: string;
  spec: TemplateSpec;
}

/**
 * Which module of build/templates-precompiled/ holds a template: its language
 * and template (`go/basic`), or for shared files the kind and choice
 * (`shared/iac/sam`). `key` is the path below templates/.
 */
export function precompiledGroupOf(key: string): string {
  const segments = key.split('/');
  return segments.slice(0, segments[0] === 'shared' ? 3 : 2).join('/');
}

const precompiledGroups = new Map<string, Promise<Record<string, PrecompiledTemplate>>>();

function loadPrecompiled(group: string): Promise<Record<string, PrecompiledTemplate>> {
  let loaded = precompiledGroups.get(group);
  if (loaded === undefined) {
    const file = path.join(precompiledTemplatesDirectory, `${group}.mjs`);
    loaded = existsSync(file)
      ? import(pathToFileURL(file).href).then(
          (module: { templates: Record<string, PrecompiledTemplate> }) => module.templates,
        )
      : Promise.resolve({});
    precompiledGroups.set(group, loaded);
  }
  return loaded;
}

/** `key` is the template's path below templates/, e.g. `go/basic/main.go.hbs`. */
export async function renderHandlebars(key: string, source: string, context: object): Promise<string> {
  const entry = (await loadPrecompiled(precompiledGroupOf(key)))[key];
  if (entry !== undefined && entry.source === source) {
    // The runtime build has the same API as the full one, minus the compiler; its typings say nothing.
    const runtime = (await import('handlebars/runtime.js')).default as unknown as typeof import('handlebars');
    return runtime.template(entry.spec as Parameters<typeof runtime.template>[0])(context);
  }
  const { default: Handlebars } = await import('handlebars');
  return Handlebars.compile(source, handlebarsOptions)(context);
}

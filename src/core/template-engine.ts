import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { toolkitRoot } from './paths.js';

/**
 * Renders `*.hbs` templates with handlebars, `noEscape` (HTML escaping inside
 * Go or TS source is a bug) and `strict` (an unknown variable is an error).
 *
 * `npm run build` precompiles every template into build/templates.precompiled.mjs,
 * so scaffolding loads only handlebars' small runtime and compiles nothing.
 * Each entry carries the hash of its source: a template edited since the build
 * (or one added by hand) falls back to the full compiler.
 */
export const handlebarsOptions = { noEscape: true, strict: true } as const;

export const precompiledTemplatesFile = path.join(toolkitRoot, 'build', 'templates.precompiled.mjs');

type TemplateSpec = object;
interface PrecompiledTemplate {
  hash: string;
  spec: TemplateSpec;
}

export function templateHash(source: string): string {
  return createHash('sha256').update(source).digest('hex');
}

let precompiled: Promise<Record<string, PrecompiledTemplate>> | undefined;

function loadPrecompiled(): Promise<Record<string, PrecompiledTemplate>> {
  precompiled ??= existsSync(precompiledTemplatesFile)
    ? import(pathToFileURL(precompiledTemplatesFile).href).then(
        (module: { templates: Record<string, PrecompiledTemplate> }) => module.templates,
      )
    : Promise.resolve({});
  return precompiled;
}

/** `key` is the template's path below templates/, e.g. `go/basic/main.go.hbs`. */
export async function renderHandlebars(key: string, source: string, context: object): Promise<string> {
  const entry = (await loadPrecompiled())[key];
  if (entry !== undefined && entry.hash === templateHash(source)) {
    // The runtime build has the same API as the full one, minus the compiler; its typings say nothing.
    const runtime = (await import('handlebars/runtime.js')).default as unknown as typeof import('handlebars');
    return runtime.template(entry.spec as Parameters<typeof runtime.template>[0])(context);
  }
  const { default: Handlebars } = await import('handlebars');
  return Handlebars.compile(source, handlebarsOptions)(context);
}

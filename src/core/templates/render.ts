import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { errorMessage } from '../errors.js';
import { templatesRoot, toolkitRoot } from '../paths.js';
import type { TemplateSource } from './catalog.js';

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
    return runtime.template(entry.spec)(context);
  }
  const { default: Handlebars } = await import('handlebars');
  return Handlebars.compile(source, handlebarsOptions)(context);
}

/**
 * Writes each source into `into` at its project path: `*.hbs` rendered with
 * `context`, others copied byte for byte, modes kept. Returns the paths, sorted.
 *
 * The file operations are synchronous: a project is twenty-odd small files,
 * quick to read or write, while every promise-based call is a round trip
 * through libuv's thread pool (see docs/benchmarks.md). Only rendering
 * awaits, to load the precompiled templates.
 */
export async function renderSources(
  sources: ReadonlyMap<string, TemplateSource>,
  into: string,
  context: object,
): Promise<string[]> {
  const umask = process.umask();
  const madeDirectories = new Set<string>();
  const rendered = await Promise.all(
    [...sources.values()].map(async ({ source, templatePath }) => {
      if (!templatePath.endsWith('.hbs')) return undefined;
      const key = path.relative(templatesRoot, source).split(path.sep).join('/');
      try {
        return await renderHandlebars(key, readFileSync(source, 'utf8'), context);
      } catch (error) {
        throw new Error(`template ${templatePath}: ${errorMessage(error)}`, { cause: error });
      }
    }),
  );
  [...sources].forEach(([projectPath, { source }], index) => {
    const target = path.join(into, projectPath);
    const directory = path.dirname(target);
    if (!madeDirectories.has(directory)) {
      mkdirSync(directory, { recursive: true });
      madeDirectories.add(directory);
    }
    const mode = statSync(source).mode & 0o777;
    const text = rendered[index];
    if (text === undefined) copyFileSync(source, target);
    else writeFileSync(target, text, { mode });
    // writeFile's mode is what umask leaves of it; copyFile's is left to the platform.
    if (text === undefined || (mode & umask) !== 0) chmodSync(target, mode);
  });
  return [...sources.keys()].sort();
}

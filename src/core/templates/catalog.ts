import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { EventType, Language } from '../config.js';
import { usageError } from '../errors.js';
import { isErrorCode, listFilesSync } from '../fs-utils.js';
import { templatesRoot } from '../paths.js';

/**
 * A template may hold a `template.json` (never copied) with a one-line
 * description and the template it extends: the base's files are laid down
 * first and the template's own files replace those with the same path, so
 * shared code such as the API client lives in one place.
 */
const templateManifestName = 'template.json';

export interface TemplateInfo {
  name: string;
  description: string;
  extends?: string;
  /** Events the template always registers for, whatever --events says (a telemetry subscriber needs both). */
  events?: EventType[];
}

/**
 * Template files are stored without their leading dot so that npm publishes
 * them (it drops .gitignore) and editors do not treat them as live config.
 */
export const dotfileNames: Readonly<Record<string, string>> = {
  _gitignore: '.gitignore',
  _gitattributes: '.gitattributes',
  _editorconfig: '.editorconfig',
  _npmrc: '.npmrc',
  _github: '.github',
  _vscode: '.vscode',
};

/** Maps a template-relative path to the path it gets in the project. */
export function projectPathOf(templatePath: string): string {
  const segments = templatePath.split('/').map((segment) => dotfileNames[segment] ?? segment);
  const last = segments.length - 1;
  segments[last] = segments[last]!.replace(/\.hbs$/, '');
  return segments.join('/');
}

/** A file to render: its path on disk, and below templates/ for error messages. */
export interface TemplateSource {
  source: string;
  templatePath: string;
}

/**
 * The templates of each language, by name, with their template.json read.
 * Loaded once per process: a command asks about the same templates several
 * times (the prompt's descriptions, the fixed events, what extends what), and
 * they are files of the installed package, which nothing changes meanwhile.
 */
const catalogs = new Map<Language, ReadonlyMap<string, TemplateInfo>>();

function templateCatalog(language: Language): ReadonlyMap<string, TemplateInfo> {
  let catalog = catalogs.get(language);
  if (catalog === undefined) {
    let names: string[];
    try {
      names = readdirSync(path.join(templatesRoot, language), { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name)
        .sort();
    } catch {
      names = [];
    }
    catalog = new Map(names.map((name) => [name, readTemplateInfo(language, name)]));
    catalogs.set(language, catalog);
  }
  return catalog;
}

function readTemplateInfo(language: Language, template: string): TemplateInfo {
  try {
    const text = readFileSync(path.join(templatesRoot, language, template, templateManifestName), 'utf8');
    const manifest = JSON.parse(text) as { description?: string; extends?: string; events?: EventType[] };
    return {
      name: template,
      description: manifest.description ?? '',
      ...(manifest.extends === undefined ? {} : { extends: manifest.extends }),
      ...(manifest.events === undefined ? {} : { events: manifest.events }),
    };
  } catch (error) {
    if (isErrorCode(error, 'ENOENT')) return { name: template, description: '' };
    throw error;
  }
}

/** Templates available for a language, read from templates/<language>/. */
export async function availableTemplates(language: Language): Promise<string[]> {
  return [...templateCatalog(language).keys()];
}

/** A template's template.json; a template that is not there refuses, listing those that are. */
export async function templateInfo(language: Language, template: string): Promise<TemplateInfo> {
  const catalog = templateCatalog(language);
  const info = catalog.get(template);
  if (info === undefined) {
    throw usageError('E_TEMPLATE_UNKNOWN', `--template: no "${template}" template for ${language}`, `choose one of: ${[...catalog.keys()].join(', ')}`
    );
  }
  return info;
}

/** Every file a template renders, by project path, with the base templates' files first. */
export async function templateSources(
  language: Language,
  template: string,
  seen: string[] = [],
): Promise<Map<string, TemplateSource>> {
  if (seen.includes(template))
    throw new Error(`templates/${language}: "${template}" extends itself through ${seen.join(' -> ')}`);
  const info = await templateInfo(language, template);
  const sources =
    info.extends === undefined ? new Map() : await templateSources(language, info.extends, [...seen, template]);
  const directory = path.join(templatesRoot, language, template);
  for (const templatePath of listFilesSync(directory)) {
    if (templatePath === templateManifestName) continue;
    const projectPath = projectPathOf(templatePath);
    // Delete then set, so that an override keeps its own place in the order.
    sources.delete(projectPath);
    sources.set(projectPath, {
      source: path.join(directory, templatePath),
      templatePath: `${template}/${templatePath}`,
    });
  }
  return sources;
}

import { chmod, mkdir, lstat, mkdtemp, readlink, realpath, rename, rm, stat } from 'node:fs/promises';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import type { Architecture } from './layer/architectures.js';
import { nodeVersionProblem, type EventType, type Language } from './config.js';
import { defaultStandaloneNodeVersion } from './standalone/runtimes.js';
import { CancelledError, CliError, errorMessage, usageError } from './errors.js';
import { ensureDirectory, isErrorCode, listFilesSync, pathExists } from './fs-utils.js';
import { extensionNameProblem, goModuleProblem, npmNameProblem } from './names.js';
import { templatesRoot, toolkitRoot } from './paths.js';
import { findToolkitSource, writeVendoredToolkit, type ToolkitSource } from './toolkit-source.js';
import { renderHandlebars } from './template-engine.js';
import type { CiProvider, IacKind } from './infrastructure/choices.js';
import { infrastructureContext, sharedTemplateFiles, type InfrastructureContext } from './infrastructure/templates.js';

export interface ScaffoldOptions {
  /** Where the project goes; created if missing. */
  directory: string;
  name: string;
  language: Language;
  template: string;
  architectures: Architecture[];
  events: EventType[];
  /** Go module path; defaults to the extension name. */
  goModule?: string | undefined;
  /** TypeScript: bundle a Linux node binary in the layer ("standalone": true in lambda-extension.json). */
  standalone?: boolean | undefined;
  /** TypeScript standalone: the Node.js major to bundle; default "24". */
  nodeVersion?: string | undefined;
  /** Write into a non-empty directory, adding and overwriting template files (never deleting others). */
  force?: boolean | undefined;
  /** GitHub Actions workflows in .github/; default none. */
  ci?: CiProvider | undefined;
  /** Infrastructure-as-code in infra/; default none. */
  iac?: IacKind | undefined;
  /** Aborting before the project is in place writes nothing and rejects with CancelledError. */
  signal?: AbortSignal | undefined;
}

export interface ScaffoldResult {
  directory: string;
  name: string;
  language: Language;
  template: string;
  ci: CiProvider;
  iac: IacKind;
  /** Every file written, relative to the directory. */
  files: string[];
  /** Files that existed before and were replaced (only with force). */
  overwritten: string[];
  /** Where the project's create-lambda-extension dependency points, and why. */
  toolkit: { dependency: string; origin: ToolkitSource['origin'] };
}

/** Variables every template may use; see templates/README.md. */
export interface RenderContext extends InfrastructureContext {
  name: string;
  packageName: string;
  language: Language;
  template: string;
  architectures: Architecture[];
  architecturesCsv: string;
  architecturesSpaced: string;
  architecturesJson: string;
  events: EventType[];
  eventsJson: string;
  registersInvoke: boolean;
  registersShutdown: boolean;
  goModule: string;
  goVersion: string;
  toolkitVersion: string;
  /** What the generated package.json depends on: a registry range, or the exact checkout or tarball. */
  toolkitDependency: string;
  toolkitDependencyJson: string;
  toolkitFromRegistry: boolean;
  /** Prefix of the extension's settings (MY_EXT_ for my-ext), as the templates compute it at run time. */
  settingsPrefix: string;
  /** TypeScript: the layer carries its own node (see ext build --standalone). */
  standalone: boolean;
  /** The node version a standalone layer bundles ("24"); set, unused, for other layers. */
  nodeVersion: string;
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

/** An npm package name made from the extension name: lower-case, no leading dot or underscore. */
export function packageNameOf(name: string): string {
  return name.toLowerCase().replace(/^[._]+/, '') || 'lambda-extension';
}

/** `go1.26.8` → `1.26`; anything unexpected gives undefined. */
export function goDirectiveOf(goVersionOutput: string): string | undefined {
  const match = /^go(\d+)\.(\d+)/.exec(goVersionOutput.trim());
  if (match === null) return undefined;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  // log/slog, which the Go templates use, arrived in Go 1.21.
  if (major === 1 && minor < 21) return '1.21';
  return `${major}.${minor}`;
}

const fallbackGoDirective = '1.22';

/**
 * The go on PATH sits in GOROOT/bin, and GOROOT/VERSION starts with its
 * version: reading it is much cheaper than starting the go tool.
 */
function goVersionFromGoroot(): string | undefined {
  for (const directory of (process.env['PATH'] ?? '').split(path.delimiter)) {
    if (directory === '') continue;
    try {
      const goroot = path.dirname(path.dirname(realpathSync(path.join(directory, 'go'))));
      return readFileSync(path.join(goroot, 'VERSION'), 'utf8').split('\n')[0];
    } catch {
      // Not in this directory, or not a standard GOROOT layout: keep looking, then ask go.
    }
  }
  return undefined;
}

async function localGoDirective(): Promise<string> {
  const fromFile = goDirectiveOf(goVersionFromGoroot() ?? '');
  if (fromFile !== undefined) return fromFile;
  try {
    // Loaded here, on the rare path, rather than by every scaffold.
    const [{ execFile }, { promisify }] = await Promise.all([import('node:child_process'), import('node:util')]);
    const { stdout } = await promisify(execFile)('go', ['env', 'GOVERSION'], { timeout: 10_000 });
    return goDirectiveOf(stdout) ?? fallbackGoDirective;
  } catch {
    // No Go here yet: the project must still scaffold; ext build says how to install Go.
    return fallbackGoDirective;
  }
}

/** The prefix of the extension's settings variables: my-ext reads MY_EXT_*. */
export function settingsPrefixOf(name: string): string {
  return `${name.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_`.replace(/^(?=[^A-Z])/, 'EXT_');
}

export function renderContext(
  options: ScaffoldOptions,
  environment: { goVersion: string; toolkitVersion: string; toolkitSource?: ToolkitSource },
): RenderContext {
  const toolkitSource = environment.toolkitSource ?? {
    dependency: `^${environment.toolkitVersion}`,
    origin: 'registry',
  };
  const quoteList = (items: readonly string[]) => `[${items.map((item) => JSON.stringify(item)).join(', ')}]`;
  return {
    ...infrastructureContext({
      name: options.name,
      language: options.language,
      architectures: options.architectures,
      ci: options.ci ?? 'none',
      iac: options.iac ?? 'none',
    }),
    name: options.name,
    packageName: packageNameOf(options.name),
    language: options.language,
    template: options.template,
    architectures: [...options.architectures],
    architecturesCsv: options.architectures.join(','),
    architecturesSpaced: options.architectures.join(' '),
    architecturesJson: quoteList(options.architectures),
    events: [...options.events],
    eventsJson: quoteList(options.events),
    registersInvoke: options.events.includes('INVOKE'),
    registersShutdown: options.events.includes('SHUTDOWN'),
    goModule: options.goModule ?? options.name,
    goVersion: environment.goVersion,
    toolkitVersion: environment.toolkitVersion,
    toolkitDependency: toolkitSource.dependency,
    toolkitDependencyJson: JSON.stringify(toolkitSource.dependency),
    toolkitFromRegistry: toolkitSource.origin === 'registry',
    settingsPrefix: settingsPrefixOf(options.name),
    standalone: options.standalone === true,
    nodeVersion: options.nodeVersion ?? defaultStandaloneNodeVersion,
  };
}

/**
 * A template may hold a `template.json` (never copied) with a one-line
 * description and the template it extends: the base's files are laid down
 * first and the template's own files replace those with the same path, so
 * shared code such as the API client lives in one place.
 */
export const templateManifestName = 'template.json';

export interface TemplateInfo {
  name: string;
  description: string;
  extends?: string;
  /** Events the template always registers for, whatever --events says (a telemetry subscriber needs both). */
  events?: EventType[];
}

export async function templateInfo(language: Language, template: string): Promise<TemplateInfo> {
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
  try {
    const entries = readdirSync(path.join(templatesRoot, language), { withFileTypes: true });
    return entries
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
  } catch {
    return [];
  }
}

/** A file to render: its path on disk, and below templates/ for error messages. */
export interface TemplateSource {
  source: string;
  templatePath: string;
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

async function validate(options: ScaffoldOptions): Promise<void> {
  const nameProblem = extensionNameProblem(options.name);
  if (nameProblem !== undefined) throw usageError(`--name: ${nameProblem}`, 'pass a valid --name');
  const templates = await availableTemplates(options.language);
  if (!templates.includes(options.template)) {
    throw usageError(
      `--template: no "${options.template}" template for ${options.language}`,
      `choose one of: ${templates.join(', ')}`,
    );
  }
  if (options.architectures.length === 0) throw usageError('--arch: choose at least one of x86_64, arm64');
  if (options.events.length === 0) throw usageError('--events: choose at least one of INVOKE, SHUTDOWN');
  if (options.standalone === true && options.language !== 'ts') {
    throw usageError(
      '--standalone is for TypeScript extensions; a Go extension is a static binary that needs no runtime',
      'drop --standalone, or pass --lang ts',
    );
  }
  if (options.nodeVersion !== undefined) {
    const problem = nodeVersionProblem(options.nodeVersion);
    if (problem !== undefined) throw usageError(`--node-version ${problem}`, 'pass --node-version 24 (or 22)');
    if (options.standalone !== true) throw usageError('--node-version needs --standalone', 'add --standalone');
  }
  const fixedEvents = (await templateInfo(options.language, options.template)).events;
  if (fixedEvents !== undefined && fixedEvents.join(',') !== options.events.join(',')) {
    throw usageError(
      `--events: the ${options.template} template always registers for ${fixedEvents.join(',')}`,
      `leave out --events, or pass --events ${fixedEvents.join(',')}`,
    );
  }
  const problems = nameProblems(options);
  if (problems.length > 0) throw usageError(problems[0]!.message, problems[0]!.hint);
}

/**
 * The names a project is made of, checked as go and npm check them, so that
 * every accepted name gives a project that installs and builds.
 */
export function nameProblems(
  options: Pick<ScaffoldOptions, 'name' | 'language' | 'goModule'>,
): { message: string; hint: string }[] {
  const problems: { message: string; hint: string }[] = [];
  if (options.goModule !== undefined && options.language !== 'go') {
    problems.push({
      message: `--module: only Go projects have a module path, and this one is ${options.language === 'ts' ? 'TypeScript' : options.language}`,
      hint: 'leave out --module, or pass --lang go',
    });
  } else if (options.goModule !== undefined) {
    const problem = goModuleProblem(options.goModule);
    if (problem !== undefined) problems.push({ message: `--module: ${problem}`, hint: 'pass a valid --module' });
  } else if (options.language === 'go') {
    const problem = goModuleProblem(options.name);
    if (problem !== undefined) {
      problems.push({
        message: `--name: the Go module path defaults to the name, and ${problem}`,
        hint: `pass --module with a module path such as example.com/${options.name.replace(/[^A-Za-z0-9_-]/g, '') || 'my-extension'}, or choose another --name`,
      });
    }
  }
  const packageName = packageNameOf(options.name);
  const npmProblem = npmNameProblem(packageName);
  if (npmProblem !== undefined) {
    problems.push({
      message: `--name: package.json takes its name from the extension name, and ${npmProblem}`,
      hint: 'choose another --name',
    });
  }
  return problems;
}

/**
 * Throws unless `directory` is missing, empty (but for .git) or `force` is
 * set. Returns the entries that are in the way, or undefined when it does not
 * exist. The CLI calls it before asking questions, scaffold again before writing.
 */
export async function checkTargetDirectory(
  directory: string,
  force: boolean | undefined,
): Promise<string[] | undefined> {
  const blocking = await blockingEntries(path.resolve(directory));
  if (blocking !== undefined && blocking.length > 0 && force !== true) {
    throw new CliError(
      `${path.resolve(directory)} is not empty (${blocking.slice(0, 3).join(', ')}${blocking.length > 3 ? ', …' : ''})`,
      {
        hint: 'choose an empty or new directory, or pass --force to add the template files to it (other files are kept)',
      },
    );
  }
  return blocking;
}

/** Files in the directory that would block a plain scaffold (.git is fine: people run git init first). */
async function blockingEntries(directory: string): Promise<string[] | undefined> {
  let info;
  try {
    info = statSync(directory);
  } catch (error) {
    if (isErrorCode(error, 'ENOENT')) {
      // stat follows links: a link to nothing looks missing, and moving the project onto it would fail late.
      const link = await readlink(directory).catch(() => undefined);
      if (link !== undefined) {
        throw new CliError(`${directory} is a symbolic link to ${link}, which does not exist`, {
          hint: 'create the folder it points to, remove the link, or choose another directory',
        });
      }
      return undefined;
    }
    throw new CliError(`cannot read ${directory}: ${errorMessage(error)}`, { hint: 'choose another directory' });
  }
  if (!info.isDirectory()) {
    throw new CliError(`${directory} exists and is not a directory`, { hint: 'choose another directory' });
  }
  return readdirSync(directory).filter((entry) => entry !== '.git');
}

/**
 * Under --force, every template file must be able to take the place of what
 * is at its path. All of them are checked before the first write, so a
 * refusal leaves the directory exactly as it was: no folder where a file
 * goes, no file where a folder goes, and no folder reached through a symlink
 * that leads out of the project.
 */
export async function replacementProblems(directory: string, files: string[]): Promise<string[]> {
  const realDirectory = await realpath(directory);
  const checks = new Map<string, Promise<'missing' | 'ok' | string>>();
  const check = (relative: string, isFile: boolean): Promise<'missing' | 'ok' | string> => {
    const key = `${relative}\0${isFile}`;
    let result = checks.get(key);
    if (result === undefined) {
      result = (async () => {
        const target = path.join(directory, relative);
        let info;
        try {
          info = await lstat(target);
        } catch (error) {
          return isErrorCode(error, 'ENOENT') ? 'missing' : `${relative} cannot be read (${errorMessage(error)})`;
        }
        if (isFile) return info.isDirectory() ? `${relative} is a folder where the template has a file` : 'ok';
        if (info.isDirectory()) return 'ok';
        if (info.isSymbolicLink()) {
          const resolved = await realpath(target).catch(() => undefined);
          if (resolved === undefined) return `${relative} is a broken symbolic link where the template has a folder`;
          const inside = path.relative(realDirectory, resolved);
          if (inside.startsWith('..') || path.isAbsolute(inside))
            return `${relative} is a symbolic link to ${resolved}, outside the project`;
          return (await stat(resolved)).isDirectory() ? 'ok' : `${relative} is a file where the template has a folder`;
        }
        return `${relative} is a file where the template has a folder`;
      })();
      checks.set(key, result);
    }
    return result;
  };
  const problems = new Set<string>();
  for (const file of files) {
    const segments = file.split('/');
    for (let count = 1; count <= segments.length; count += 1) {
      const outcome = await check(segments.slice(0, count).join('/'), count === segments.length);
      if (outcome === 'missing') break;
      if (outcome !== 'ok') {
        problems.add(outcome);
        break;
      }
    }
  }
  return [...problems];
}

/**
 * Moves the rendered files over the existing directory. What each replaces is
 * moved aside first, so that a failure half-way puts every file back. A file
 * that `mayReplace` refuses and that is there by now (it appeared since the
 * caller checked) stops the move, and everything is put back; so does an
 * abort (Ctrl-C), which then rejects with CancelledError.
 */
export async function moveIntoExistingDirectory(
  staging: string,
  directory: string,
  files: string[],
  backups: string,
  options: { mayReplace?: (file: string) => boolean; signal?: AbortSignal | undefined } = {},
): Promise<string[]> {
  const mayReplace = options.mayReplace ?? (() => true);
  const overwritten: string[] = [];
  const applied: { target: string; backup: string | undefined; createdDirectory: string | undefined }[] = [];
  try {
    for (const file of files) {
      if (options.signal?.aborted === true) throw new CancelledError();
      const target = path.join(directory, file);
      const existed = await pathExists(target);
      if (existed && !mayReplace(file)) throw new Error(`${file} appeared while the files were being written`);
      const createdDirectory = await mkdir(path.dirname(target), { recursive: true });
      let backup: string | undefined;
      if (existed) {
        backup = path.join(backups, file);
        await mkdir(path.dirname(backup), { recursive: true });
        await rename(target, backup);
        overwritten.push(file);
      }
      applied.push({ target, backup, createdDirectory });
      await rename(path.join(staging, file), target);
    }
  } catch (error) {
    for (const { target, backup, createdDirectory } of applied.reverse()) {
      await (backup === undefined ? rm(target, { force: true }) : rename(backup, target)).catch(() => {});
      if (createdDirectory !== undefined) await rm(createdDirectory, { recursive: true, force: true }).catch(() => {});
    }
    if (error instanceof CancelledError) throw error;
    throw new CliError(`cannot write the project into ${directory}: ${errorMessage(error)}`, {
      hint: 'nothing was changed; check that the directory is writable and try again',
    });
  }
  return overwritten;
}

/** The template's files, then the shared CI and IaC files chosen, by project path. */
async function projectSources(options: ScaffoldOptions): Promise<Map<string, TemplateSource>> {
  const sources = new Map<string, TemplateSource>();
  for (const [projectPath, { source, templatePath }] of await templateSources(options.language, options.template))
    sources.set(projectPath, { source, templatePath: `${options.language}/${templatePath}` });
  const shared = await sharedTemplateFiles({
    language: options.language,
    ci: options.ci ?? 'none',
    iac: options.iac ?? 'none',
  });
  for (const { relative, source, templatePath } of shared)
    sources.set(projectPathOf(relative), { source, templatePath });
  return sources;
}

/**
 * Writes each source into `into` at its project path: `*.hbs` rendered with
 * `context`, others copied byte for byte, modes kept. Returns the paths, sorted.
 *
 * The file operations are synchronous: a project is twenty-odd small files,
 * each a few microseconds to read or write, while every promise-based call
 * is a round trip through libuv's thread pool; the async version took a third
 * of `create --yes`. Only rendering awaits, to load the precompiled templates.
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

/**
 * Renders a template into a new project. The project is rendered into a
 * temporary directory next to the target and moved into place at the end, so
 * a failure leaves nothing behind.
 */
export async function scaffold(options: ScaffoldOptions): Promise<ScaffoldResult> {
  await validate(options);
  const directory = path.resolve(options.directory);
  const blocking = await checkTargetDirectory(directory, options.force);
  const toolkitVersion = (
    JSON.parse(readFileSync(path.join(toolkitRoot, 'package.json'), 'utf8')) as { version: string }
  ).version;
  const goVersion = options.language === 'go' ? await localGoDirective() : fallbackGoDirective;
  const toolkitSource = await findToolkitSource(toolkitRoot, toolkitVersion);
  const context = renderContext(options, { goVersion, toolkitVersion, toolkitSource });

  const parent = path.dirname(directory);
  const hint = 'choose a directory on a writable, regular filesystem';
  await ensureDirectory(parent, { what: 'cannot create the folder', hint });
  const staging = await mkdtemp(path.join(parent, `.${path.basename(directory)}.create-`)).catch((error: unknown) => {
    throw new CliError(`cannot write into ${parent}: ${errorMessage(error)}`, { hint });
  });
  try {
    // mkdtemp makes the directory private; a project directory is not.
    await chmod(staging, 0o777 & ~process.umask());
    const files = await renderSources(await projectSources(options), staging, context);
    if (toolkitSource.vendor !== undefined) {
      await writeVendoredToolkit(toolkitSource.vendor, staging);
      files.push(toolkitSource.vendor.path);
      files.sort();
    }
    let overwritten: string[] = [];
    if (options.signal?.aborted === true) throw new CancelledError();
    if (blocking === undefined) {
      try {
        await rename(staging, directory);
      } catch (error) {
        throw new CliError(`cannot create ${directory}: ${errorMessage(error)}`, {
          hint: 'nothing was written; choose another directory',
        });
      }
    } else {
      const problems = await replacementProblems(directory, files);
      if (problems.length > 0) {
        throw new CliError(
          `--force: cannot put the template files into ${directory}: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? `; and ${problems.length - 3} more` : ''}`,
          { hint: 'nothing was changed; move those paths aside, or choose an empty or new directory' },
        );
      }
      overwritten = await moveIntoExistingDirectory(staging, directory, files, path.join(staging, '.replaced'), {
        signal: options.signal,
      });
    }
    return {
      directory,
      name: options.name,
      language: options.language,
      template: options.template,
      ci: options.ci ?? 'none',
      iac: options.iac ?? 'none',
      files,
      overwritten,
      toolkit: { dependency: toolkitSource.dependency, origin: toolkitSource.origin },
    };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

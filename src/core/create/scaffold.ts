import { readlink } from 'node:fs/promises';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { CliError, errorMessage } from '../errors.js';
import { ensureDirectory, isErrorCode } from '../fs-utils.js';
import { sharedTemplateSources } from '../infrastructure/index.js';
import { toolkitRoot } from '../paths.js';
import { templateSources, writeTemplateFiles, type TemplateSource } from '../templates/index.js';
import { fallbackGoDirective, localGoDirective, renderContext } from './context.js';
import type { ScaffoldOptions, ScaffoldResult } from './options.js';
import { findToolkitSource, writeVendoredToolkit } from './toolkit-source.js';
import { validateScaffoldOptions } from './validate.js';

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
        code: 'E_CREATE_DIRECTORY_NOT_EMPTY',
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
          code: 'E_CREATE_DIRECTORY_UNUSABLE',
          hint: 'create the folder it points to, remove the link, or choose another directory',
        });
      }
      return undefined;
    }
    throw new CliError(`cannot read ${directory}: ${errorMessage(error)}`, {
      code: 'E_CREATE_DIRECTORY_UNUSABLE',
      hint: 'choose another directory',
    });
  }
  if (!info.isDirectory()) {
    throw new CliError(`${directory} exists and is not a directory`, {
      code: 'E_CREATE_DIRECTORY_UNUSABLE',
      hint: 'choose another directory',
    });
  }
  return readdirSync(directory).filter((entry) => entry !== '.git');
}

/** The template's files, then the shared CI and IaC files chosen, by project path. */
async function projectSources(options: ScaffoldOptions): Promise<Map<string, TemplateSource>> {
  const sources = new Map<string, TemplateSource>();
  for (const [projectPath, { source, templatePath }] of await templateSources(options.language, options.template))
    sources.set(projectPath, { source, templatePath: `${options.language}/${templatePath}` });
  const shared = await sharedTemplateSources({
    language: options.language,
    ci: options.ci ?? 'none',
    iac: options.iac ?? 'none',
  });
  for (const [projectPath, source] of shared) sources.set(projectPath, source);
  return sources;
}

/**
 * Renders a template into a new project. The project is rendered into a
 * temporary directory next to the target and moved into place at the end, so
 * a failure leaves nothing behind.
 */
export async function scaffold(options: ScaffoldOptions): Promise<ScaffoldResult> {
  await validateScaffoldOptions(options);
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
  const { vendor } = toolkitSource;
  const { files, overwritten } = await writeTemplateFiles({
    directory,
    directoryIsNew: blocking === undefined,
    sources: await projectSources(options),
    context,
    stagingPrefix: path.join(parent, `.${path.basename(directory)}.create-`),
    stagingHint: hint,
    addFiles:
      vendor === undefined
        ? undefined
        : async (staging) => {
            await writeVendoredToolkit(vendor, staging);
            return [vendor.path];
          },
    blockedMessage: '--force: cannot put the template files',
    blockedHint: 'nothing was changed; move those paths aside, or choose an empty or new directory',
    signal: options.signal,
  });
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
}

import path from 'node:path';
import { readConfig } from '../config.js';
import { CliError, usageError } from '../errors.js';
import { pathExists } from '../fs-utils.js';
import { projectContext, writeTemplateFiles, type TemplateSource } from '../templates/index.js';
import { ciProviders, iacKinds, type CiProvider, type IacKind } from './choices.js';
import { infrastructureContext, sharedTemplateSources, type InfrastructureContext } from './templates.js';

export interface AddIacOptions {
  /** Holds lambda-extension.json, whose name, language and architectures the files are made for. */
  projectDirectory: string;
  kind: IacKind;
  /** Replace files that are already there (other files are kept). */
  force?: boolean;
  /** Aborting before the files are in place changes nothing and rejects with CancelledError. */
  signal?: AbortSignal;
}

export interface AddIacResult {
  directory: string;
  kind: IacKind;
  /** Every file written, relative to the project. */
  files: string[];
  /** Files that existed and were replaced (only with force). */
  overwritten: string[];
  /** The one command, run in the project, that packs and deploys. */
  deployCommand: string;
}

export interface AddCiOptions {
  /** Holds lambda-extension.json, whose name, language and architectures the workflows are made for. */
  projectDirectory: string;
  provider: CiProvider;
  /** Replace files that are already there (other files are kept). */
  force?: boolean;
  /** Aborting before the files are in place changes nothing and rejects with CancelledError. */
  signal?: AbortSignal;
}

export interface AddCiResult {
  directory: string;
  provider: CiProvider;
  /** Every file written, relative to the project. */
  files: string[];
  /** Files that existed and were replaced (only with force). */
  overwritten: string[];
  /** Configuration of the user's that was already there and is kept as it is (.github/publish.json). */
  kept: string[];
  /** lambda-extension.json's version: a tag `v<version>` publishes it. */
  version: string;
}

/**
 * The user's settings rather than generated code: the regions and
 * architectures to publish to. Kept when present, even with force, which is
 * for taking a newer toolkit's workflows.
 */
const keptWhenPresent: ReadonlySet<string> = new Set(['.github/publish.json']);

/**
 * Adds the infrastructure-as-code `create --iac` would have generated to an
 * existing project (see addSharedFiles).
 */
export async function addIac(options: AddIacOptions): Promise<AddIacResult> {
  if (options.kind === 'none' || !iacKinds.includes(options.kind)) {
    throw usageError(
      'E_ADD_KIND_UNKNOWN',
      `<kind>: "${options.kind}" is not one of sam, cdk, terraform`,
      'run ext add iac sam, cdk or terraform',
    );
  }
  const added = await addSharedFiles(options.projectDirectory, { ci: 'none', iac: options.kind }, options);
  const { directory, files, overwritten } = added.written;
  return { directory, kind: options.kind, files, overwritten, deployCommand: added.context.iacDeployCommand };
}

/**
 * Adds the CI workflows `create --ci` would have generated to an existing
 * project (see addSharedFiles): for a project scaffolded with `--ci none`, or
 * to bring its workflows up to this version's pinned actions with `force`.
 */
export async function addCi(options: AddCiOptions): Promise<AddCiResult> {
  if (options.provider === 'none' || !ciProviders.includes(options.provider)) {
    throw usageError(
      'E_ADD_KIND_UNKNOWN',
      `<provider>: "${options.provider}" is not one of github`,
      'run ext add ci github',
    );
  }
  const added = await addSharedFiles(options.projectDirectory, { ci: options.provider, iac: 'none' }, options);
  return { ...added.written, provider: options.provider, version: added.version };
}

/**
 * Renders the shared CI or IaC templates for the project's
 * lambda-extension.json, through a staging folder inside the project (see
 * writeTemplateFiles); an existing file is replaced only with `force`, and a
 * failure changes nothing.
 */
async function addSharedFiles(
  projectDirectory: string,
  choice: { ci: CiProvider; iac: IacKind },
  { force, signal }: { force?: boolean | undefined; signal?: AbortSignal | undefined },
): Promise<{
  written: { directory: string; files: string[]; overwritten: string[]; kept: string[] };
  context: InfrastructureContext;
  version: string;
}> {
  const directory = path.resolve(projectDirectory);
  const config = await readConfig(directory);
  const infrastructure = infrastructureContext({
    name: config.name,
    language: config.language,
    architectures: config.architectures,
    ...(config.template === undefined ? {} : { template: config.template }),
    ...choice,
  });
  const context = { ...projectContext(config), ...infrastructure };
  const what = choice.iac === 'none' ? `${choice.ci} workflow` : choice.iac;
  const present = (file: string): Promise<boolean> => pathExists(path.join(directory, file));
  const sources = new Map<string, TemplateSource>();
  const kept: string[] = [];
  for (const [projectPath, source] of await sharedTemplateSources({ language: config.language, ...choice })) {
    if (keptWhenPresent.has(projectPath) && (await present(projectPath))) kept.push(projectPath);
    else sources.set(projectPath, source);
  }
  const existing: string[] = [];
  for (const file of [...sources.keys()].sort()) if (await present(file)) existing.push(file);
  if (existing.length > 0 && force !== true) {
    throw new CliError(
      `${existing.slice(0, 3).join(', ')}${existing.length > 3 ? ` and ${existing.length - 3} more` : ''} already exist${existing.length === 1 ? 's' : ''} in ${directory}`,
      {
        code: 'E_ADD_FILES_EXIST',
        hint: `nothing was changed; pass --force to replace ${existing.length === 1 ? 'it' : 'them'} (other files are kept), or move ${existing.length === 1 ? 'it' : 'them'} aside`,
      },
    );
  }
  const { files, overwritten } = await writeTemplateFiles({
    directory,
    directoryIsNew: false,
    sources,
    context,
    stagingPrefix: path.join(directory, '.ext-add-'),
    stagingHint: 'check that the project folder is writable',
    blockedMessage: `cannot put the ${what} files`,
    blockedHint: 'nothing was changed; move those paths aside and run it again',
    // Checked again while moving: a file that appeared since (a publish.json among them) is not replaced without force.
    mayReplace: (file) => force === true && !keptWhenPresent.has(file),
    signal,
  });
  return { written: { directory, files, overwritten, kept }, context: infrastructure, version: config.version };
}

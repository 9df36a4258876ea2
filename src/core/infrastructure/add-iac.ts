import { lstat, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { readConfig } from '../config.js';
import { CliError, errorMessage, usageError } from '../errors.js';
import {
  moveIntoExistingDirectory,
  packageNameOf,
  projectPathOf,
  renderSources,
  replacementProblems,
  type TemplateSource,
} from '../scaffold.js';
import { iacKinds, type IacKind } from './choices.js';
import { infrastructureContext, sharedTemplateFiles } from './templates.js';

export interface AddIacOptions {
  /** Holds lambda-extension.json, whose name, language and architectures the files are made for. */
  projectDirectory: string;
  kind: IacKind;
  /** Replace files that are already there (other files are kept). */
  force?: boolean;
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

/**
 * Adds the infrastructure-as-code `create --iac` would have generated to an
 * existing project. The files are rendered into a folder inside the project
 * and moved into place at the end; an existing file is replaced only with
 * `force`, and a failure changes nothing.
 */
export async function addIac(options: AddIacOptions): Promise<AddIacResult> {
  if (options.kind === 'none' || !iacKinds.includes(options.kind)) {
    throw usageError(
      `<kind>: "${options.kind}" is not one of sam, cdk, terraform`,
      'run ext add iac sam, cdk or terraform',
    );
  }
  const directory = path.resolve(options.projectDirectory);
  const config = await readConfig(directory);
  const context = {
    name: config.name,
    packageName: packageNameOf(config.name),
    architectures: config.architectures,
    architecturesCsv: config.architectures.join(','),
    architecturesJson: `[${config.architectures.map((architecture) => JSON.stringify(architecture)).join(', ')}]`,
    ...infrastructureContext({
      name: config.name,
      language: config.language,
      architectures: config.architectures,
      ci: 'none',
      iac: options.kind,
    }),
  };
  const sources = new Map<string, TemplateSource>();
  for (const { relative, source, templatePath } of await sharedTemplateFiles({
    language: config.language,
    ci: 'none',
    iac: options.kind,
  })) {
    sources.set(projectPathOf(relative), { source, templatePath });
  }
  const files = [...sources.keys()].sort();
  const existing: string[] = [];
  for (const file of files) {
    if (
      await lstat(path.join(directory, file)).then(
        () => true,
        () => false,
      )
    )
      existing.push(file);
  }
  if (existing.length > 0 && options.force !== true) {
    throw new CliError(
      `${existing.slice(0, 3).join(', ')}${existing.length > 3 ? ` and ${existing.length - 3} more` : ''} already exist${existing.length === 1 ? 's' : ''} in ${directory}`,
      {
        hint: `nothing was changed; pass --force to replace ${existing.length === 1 ? 'it' : 'them'} (other files are kept), or move ${existing.length === 1 ? 'it' : 'them'} aside`,
      },
    );
  }

  const staging = await mkdtemp(path.join(directory, '.ext-add-iac-')).catch((error: unknown) => {
    throw new CliError(`cannot write into ${directory}: ${errorMessage(error)}`, {
      hint: 'check that the project folder is writable',
    });
  });
  try {
    await renderSources(sources, staging, context);
    const problems = await replacementProblems(directory, files);
    if (problems.length > 0) {
      throw new CliError(`cannot put the ${options.kind} files into ${directory}: ${problems.slice(0, 3).join('; ')}`, {
        hint: 'nothing was changed; move those paths aside and run it again',
      });
    }
    const overwritten = await moveIntoExistingDirectory(staging, directory, files, path.join(staging, '.replaced'));
    return { directory, kind: options.kind, files, overwritten, deployCommand: context.iacDeployCommand };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

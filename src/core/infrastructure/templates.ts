import path from 'node:path';
import type { Architecture } from '../layer/index.js';
import type { Language } from '../config.js';
import { listFilesSync } from '../fs-utils.js';
import { templatesRoot } from '../paths.js';
import { projectPathOf, type TemplateSource } from '../templates/index.js';
import type { CiProvider, IacKind } from './choices.js';
import { cdkVersions, pinnedActions } from './pinned-actions.js';

/** Where the files every language and template share live, below templates/. */
export const sharedTemplatesFolder = 'shared';

/** One architecture as the IaC templates name it. */
export interface ArchitectureDetail {
  name: Architecture;
  /** CloudFormation logical id part: letters and digits only (X8664, Arm64). */
  logicalId: string;
  /** Terraform resource name: a valid identifier (x86_64, arm64). */
  identifier: string;
  /** The aws-cdk-lib `Architecture` member (X86_64, ARM_64). */
  cdkConstant: string;
}

const architectureDetailOf: Record<Architecture, ArchitectureDetail> = {
  x86_64: { name: 'x86_64', logicalId: 'X8664', identifier: 'x86_64', cdkConstant: 'X86_64' },
  arm64: { name: 'arm64', logicalId: 'Arm64', identifier: 'arm64', cdkConstant: 'ARM_64' },
};

/** The variables the shared CI and IaC templates (templates/shared/) use. */
export interface InfrastructureContext {
  ci: CiProvider;
  iac: IacKind;
  ciGithub: boolean;
  hasIac: boolean;
  iacTitle: string;
  /** The one command, run in the project folder, that packs and deploys with the chosen IaC. */
  iacDeployCommand: string;
  languageIsGo: boolean;
  languageIsTs: boolean;
  architectureDetails: ArchitectureDetail[];
  /** A CloudFormation stack name made from the extension name. */
  stackName: string;
  actions: typeof pinnedActions;
  cdkVersions: typeof cdkVersions;
  /** The cache template: the IaC adds a policy for the function's role that reads the listed parameters and secrets. */
  cacheAccess: boolean;
}

/** `my_ext.v2` → `my-ext-v2-layer`: stack names take letters, digits and hyphens, starting with a letter. */
export function stackNameOf(name: string): string {
  const base = name.replace(/[^A-Za-z0-9-]+/g, '-').replace(/^[^A-Za-z]+/, '');
  return `${base === '' ? 'extension' : base.replace(/-+$/, '')}-layer`;
}

export function deployCommandOf(iac: IacKind, name: string): string {
  switch (iac) {
    case 'sam':
      return `npm run pack && sam deploy --template-file infra/template.yaml --stack-name ${stackNameOf(name)} --resolve-s3 --capabilities CAPABILITY_IAM`;
    case 'terraform':
      return 'npm run pack && terraform -chdir=infra init && terraform -chdir=infra apply';
    case 'cdk':
      return 'npm run pack && npm --prefix infra install && npm --prefix infra run deploy';
    case 'none':
      return '';
  }
}

export function infrastructureContext(options: {
  name: string;
  language: Language;
  architectures: readonly Architecture[];
  ci: CiProvider;
  iac: IacKind;
  /** The project's template, when known: create's, or "template" in lambda-extension.json for ext add. */
  template?: string;
}): InfrastructureContext {
  const titles: Record<IacKind, string> = { sam: 'AWS SAM', cdk: 'the AWS CDK', terraform: 'Terraform', none: '' };
  return {
    ci: options.ci,
    iac: options.iac,
    ciGithub: options.ci === 'github',
    hasIac: options.iac !== 'none',
    iacTitle: titles[options.iac],
    iacDeployCommand: deployCommandOf(options.iac, options.name),
    languageIsGo: options.language === 'go',
    languageIsTs: options.language === 'ts',
    architectureDetails: options.architectures.map((architecture) => architectureDetailOf[architecture]),
    stackName: stackNameOf(options.name),
    actions: pinnedActions,
    cdkVersions,
    cacheAccess: options.template === 'cache',
  };
}

/**
 * Files that only some languages get: the CDK app's go.mod keeps a Go
 * project's `./...` out of infra/node_modules, and a TypeScript project has
 * no `./...` to protect.
 */
const languageOnlyFiles: Readonly<Record<string, Language>> = { 'iac/cdk/infra/go.mod': 'go' };

/** The shared files the chosen CI and IaC add, by template-relative path (dotfile names not yet mapped). */
export async function sharedTemplateFiles(options: {
  language: Language;
  ci: CiProvider;
  iac: IacKind;
}): Promise<{ templatePath: string; relative: string; source: string }[]> {
  const folders = [
    ...(options.ci === 'none' ? [] : [`ci/${options.ci}`]),
    ...(options.iac === 'none' ? [] : [`iac/${options.iac}`]),
  ];
  const files: { templatePath: string; relative: string; source: string }[] = [];
  for (const folder of folders) {
    const directory = path.join(templatesRoot, sharedTemplatesFolder, folder);
    for (const relative of listFilesSync(directory)) {
      const onlyFor = languageOnlyFiles[`${folder}/${relative}`];
      if (onlyFor !== undefined && onlyFor !== options.language) continue;
      files.push({
        templatePath: `${sharedTemplatesFolder}/${folder}/${relative}`,
        relative,
        source: path.join(directory, relative),
      });
    }
  }
  return files;
}

/** The shared files the chosen CI and IaC add, by project path. */
export async function sharedTemplateSources(options: {
  language: Language;
  ci: CiProvider;
  iac: IacKind;
}): Promise<Map<string, TemplateSource>> {
  const sources = new Map<string, TemplateSource>();
  for (const { relative, source, templatePath } of await sharedTemplateFiles(options))
    sources.set(projectPathOf(relative), { source, templatePath });
  return sources;
}

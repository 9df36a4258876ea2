import path from 'node:path';
import { cdkVersions } from '../../src/core/infrastructure/pinned-actions.js';
import { goInstall } from './go-install.js';
import { installNpmPackages, nodeCacheDirectory } from './node-versions.js';
import { installPythonPackages } from './python-venv.js';
import { run, type RunResult } from './run-cli.js';

/**
 * The linters users run on generated workflows and IaC, pinned, installed
 * from the registries into the tests' cache once (see go-install.ts,
 * python-venv.ts, node-versions.ts). Each resolves to `{ skip }` with one line
 * when its toolchain is missing here.
 */
export const actionlintModule = 'github.com/rhysd/actionlint/cmd/actionlint';
export const actionlintVersion = 'v1.7.12';
export const cfnLintVersion = '1.58.0';
export const pythonHcl2Version = '8.1.4';
/** The CDK app's own TypeScript and Node types, as its package.json ranges allow. */
export const cdkToolVersions = { ...cdkVersions, typescript: '5.9.3', typesNode: '20.19.43' } as const;

let actionlintInstall: Promise<{ binary: string } | { skip: string }> | undefined;
export function actionlint(): Promise<{ binary: string } | { skip: string }> {
  actionlintInstall ??= goInstall(actionlintModule, actionlintVersion, `actionlint-${actionlintVersion}`);
  return actionlintInstall;
}

let pythonInstall: Promise<{ python: string } | { skip: string }> | undefined;
/** One venv with cfn-lint and python-hcl2. */
export function iacPython(): Promise<{ python: string } | { skip: string }> {
  pythonInstall ??= installPythonPackages(`cfn-lint-${cfnLintVersion}-python-hcl2-${pythonHcl2Version}`, [
    `cfn-lint==${cfnLintVersion}`,
    `python-hcl2==${pythonHcl2Version}`,
  ]);
  return pythonInstall;
}

let cdkInstall: Promise<{ nodeModules: string } | { skip: string }> | undefined;
/** aws-cdk-lib, constructs, the cdk CLI and tsc: about 240 MB, so cached under a folder named by their versions. */
export function cdkNodeModules(): Promise<{ nodeModules: string } | { skip: string }> {
  cdkInstall ??= (async () => {
    const versions = cdkToolVersions;
    const target = path.join(
      nodeCacheDirectory(),
      `cdk-${versions.awsCdkLib}-cli-${versions.awsCdk}-constructs-${versions.constructs}-ts-${versions.typescript}`,
    );
    const failure = await installNpmPackages(target, [
      `aws-cdk-lib@${versions.awsCdkLib}`,
      `aws-cdk@${versions.awsCdk}`,
      `constructs@${versions.constructs}`,
      `typescript@${versions.typescript}`,
      `@types/node@${versions.typesNode}`,
    ]);
    return failure ?? { nodeModules: path.join(target, 'node_modules') };
  })();
  return cdkInstall;
}

/**
 * cfn-lint on templates, all in one run (it takes seconds to load its specs); its console script breaks in a renamed
 * venv, so it runs through python.
 */
export function cfnLint(python: string, ...templates: string[]): Promise<RunResult> {
  return run(python, ['-c', 'import sys; from cfnlint.runner import main; sys.exit(main())', ...templates], {
    timeoutMs: 300_000,
  });
}

/**
 * Parses a Terraform file with python-hcl2 and returns its blocks, with the
 * quotes python-hcl2 keeps around names and string values taken off.
 */
export async function parseTerraform(python: string, file: string): Promise<TerraformDocument> {
  const script = `
import json, sys, hcl2
def unquote(text):
    return text[1:-1] if isinstance(text, str) and len(text) >= 2 and text[0] == '"' and text[-1] == '"' else text
def clean(value):
    if isinstance(value, dict):
        return {unquote(key): clean(item) for key, item in value.items() if not key.startswith('__')}
    if isinstance(value, list):
        return [clean(item) for item in value]
    return unquote(value)
with open(sys.argv[1]) as handle:
    print(json.dumps(clean(hcl2.load(handle))))
`;
  const result = await run(python, ['-c', script, file], { timeoutMs: 120_000 });
  if (result.code !== 0) throw new Error(`python-hcl2 cannot parse ${file}:\n${result.stderr}`);
  return JSON.parse(result.stdout) as TerraformDocument;
}

export type TerraformBlock = Record<string, unknown>;
export interface TerraformDocument {
  resource?: Record<string, Record<string, TerraformBlock>>[];
  data?: Record<string, Record<string, TerraformBlock>>[];
  variable?: Record<string, TerraformBlock>[];
  output?: Record<string, TerraformBlock>[];
  terraform?: TerraformBlock[];
}

/** `type.name` → attributes, for every resource (or data source) in the document. */
export function terraformBlocks(
  blocks: Record<string, Record<string, TerraformBlock>>[] | undefined,
): Map<string, TerraformBlock> {
  const found = new Map<string, TerraformBlock>();
  for (const block of blocks ?? []) {
    for (const [type, named] of Object.entries(block)) {
      for (const [name, attributes] of Object.entries(named)) found.set(`${type}.${name}`, attributes);
    }
  }
  return found;
}

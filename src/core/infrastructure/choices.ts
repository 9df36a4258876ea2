import { usageError } from '../errors.js';

/** Where the generated CI workflows run; `none` generates none. */
export const ciProviders = ['github', 'none'] as const;
export type CiProvider = (typeof ciProviders)[number];

/** The infrastructure-as-code a project can deploy its layer with; `none` generates none. */
export const iacKinds = ['sam', 'cdk', 'terraform', 'none'] as const;
export type IacKind = (typeof iacKinds)[number];

export const ciTitles: Record<CiProvider, string> = {
  github: 'GitHub Actions (test on push, publish on a v* tag over OIDC)',
  none: 'None',
};

export const iacTitles: Record<IacKind, string> = {
  sam: 'AWS SAM',
  cdk: 'AWS CDK in TypeScript',
  terraform: 'Terraform',
  none: 'None',
};

export function parseCiProvider(
  input: string,
  flag = '--ci',
  allowed: readonly CiProvider[] = ciProviders,
): CiProvider {
  const value = input.trim().toLowerCase();
  if (!(allowed as readonly string[]).includes(value)) {
    const choices = flag.startsWith('--') ? allowed.map((provider) => `${flag} ${provider}`) : allowed;
    throw usageError(`${flag}: unknown CI "${input}"`, `use ${choices.join(' or ')}`);
  }
  return value as CiProvider;
}

export function parseIacKind(input: string, flag = '--iac', allowed: readonly IacKind[] = iacKinds): IacKind {
  const value = input.trim().toLowerCase();
  if (!(allowed as readonly string[]).includes(value)) {
    const choices = flag.startsWith('--') ? allowed.map((kind) => `${flag} ${kind}`) : allowed;
    throw usageError(`${flag}: unknown infrastructure-as-code "${input}"`, `use one of: ${choices.join(', ')}`);
  }
  return value as IacKind;
}

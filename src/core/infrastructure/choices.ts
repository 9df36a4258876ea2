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

/**
 * One of `allowed`, from what the user typed (any case, spaces around). A
 * refusal names the flag (or positional) and lists the choices as they are
 * typed: `--ci github or --ci none`, or `sam, cdk, terraform` for a positional.
 */
function parseChoice<T extends string>(input: string, flag: string, allowed: readonly T[], what: string): T {
  const value = input.trim().toLowerCase();
  if (!(allowed as readonly string[]).includes(value)) {
    const choices = flag.startsWith('--') ? allowed.map((choice) => `${flag} ${choice}`) : [...allowed];
    const listed = choices.length > 2 ? `one of: ${choices.join(', ')}` : choices.join(' or ');
    throw usageError('E_ADD_KIND_UNKNOWN', `${flag}: unknown ${what} "${input}"`, `use ${listed}`);
  }
  return value as T;
}

export function parseCiProvider(
  input: string,
  flag = '--ci',
  allowed: readonly CiProvider[] = ciProviders,
): CiProvider {
  return parseChoice(input, flag, allowed, 'CI');
}

export function parseIacKind(input: string, flag = '--iac', allowed: readonly IacKind[] = iacKinds): IacKind {
  return parseChoice(input, flag, allowed, 'infrastructure-as-code');
}

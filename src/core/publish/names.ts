import type { Architecture } from '../layer/index.js';
import { usageError } from '../errors.js';
import { printableLine } from '../text.js';

/** Lambda's rule for a layer name (the part of the ARN after "layer:"). */
export const layerNameRule = '1 to 140 characters: letters, digits, "-" and "_"';
const layerNamePattern = /^[A-Za-z0-9_-]{1,140}$/;

export const defaultLayerNameTemplate = '{name}-{arch}';

/**
 * Expands --layer-name for one architecture. `{name}` is the extension's name
 * and `{arch}` the architecture; one name for several architectures would mix
 * their versions in one layer, so the template must then hold `{arch}`.
 */
export function layerNamesFor(
  template: string,
  extensionName: string,
  architectures: readonly Architecture[],
): Map<Architecture, string> {
  if (architectures.length > 1 && !template.includes('{arch}')) {
    throw usageError(
      'E_PUBLISH_LAYER_NAME_INVALID',
      `--layer-name: "${template}" would put ${architectures.join(' and ')} into one layer, whose "latest version" is then either`,
      `add {arch} to the name (e.g. --layer-name ${template}-{arch}), or publish one architecture with --arch`,
    );
  }
  const names = new Map<Architecture, string>();
  for (const architecture of architectures) {
    const name = template.replaceAll('{name}', extensionName).replaceAll('{arch}', architecture);
    if (!layerNamePattern.test(name)) {
      const badExtensionName = template.includes('{name}') && /[^A-Za-z0-9_-]/.test(extensionName);
      throw usageError(
        'E_PUBLISH_LAYER_NAME_INVALID',
        `--layer-name: "${name}" is not a valid layer name (${name.length > 140 ? `${name.length} characters` : 'it has other characters'}); Lambda allows ${layerNameRule}`,
        badExtensionName
          ? `the extension name "${extensionName}" has characters a layer name cannot; pass e.g. --layer-name ${extensionName.replace(/[^A-Za-z0-9_-]/g, '-')}-{arch}`
          : `pass --layer-name with ${layerNameRule}; {name} and {arch} are replaced`,
      );
    }
    names.set(architecture, name);
  }
  return names;
}

/** us-east-1, eu-central-2, us-gov-west-1, cn-north-1: what Lambda's regions look like. */
const regionPattern = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

export function isRegionName(value: string): boolean {
  return regionPattern.test(value);
}

/**
 * One check for a region from any source (--region, AWS_REGION, a profile),
 * whose error names that source: a region becomes a key of published.json
 * and part of every ARN, so it must be a region and nothing else.
 */
export function checkRegion(region: string, source: string): string {
  if (!regionPattern.test(region)) {
    throw usageError(
      'E_PUBLISH_REGION_INVALID',
      `${source}: ${JSON.stringify(printableLine(region, 60))} is not an AWS region name`,
      source === '--region'
        ? 'pass region codes such as --region us-east-1,eu-west-1 (comma-separated or repeated)'
        : `set ${source} to a region code such as us-east-1, or pass --region us-east-1`,
    );
  }
  return region;
}

export function parseRegions(values: readonly string[]): string[] {
  const regions = [
    ...new Set(
      values
        .flatMap((value) => value.split(','))
        .map((value) => value.trim())
        .filter((value) => value !== ''),
    ),
  ];
  for (const region of regions) checkRegion(region, '--region');
  return regions;
}

/** Who may use the published layer versions; nothing is granted when it is undefined. */
export type LayerAudience =
  { kind: 'public' } | { kind: 'accounts'; accounts: string[] } | { kind: 'organization'; organizationId: string };

const accountPattern = /^\d{12}$/;
const organizationPattern = /^o-[a-z0-9]{10,32}$/;

export function checkAudience(audience: LayerAudience): LayerAudience {
  if (audience.kind === 'accounts') {
    if (audience.accounts.length === 0)
      throw usageError('E_PUBLISH_PRINCIPAL_INVALID', '--principal: no account id given', 'pass 12-digit account ids');
    for (const account of audience.accounts) {
      if (!accountPattern.test(account)) {
        throw usageError(
          'E_PUBLISH_PRINCIPAL_INVALID',
          `--principal: "${account}" is not an AWS account id`,
          'pass the 12-digit account id (layer permissions take accounts, not role or user ARNs); use --public for every account',
        );
      }
    }
    return { kind: 'accounts', accounts: [...new Set(audience.accounts)] };
  }
  if (audience.kind === 'organization' && !organizationPattern.test(audience.organizationId)) {
    throw usageError(
      'E_PUBLISH_PRINCIPAL_INVALID',
      `--organization: "${audience.organizationId}" is not an AWS Organizations id`,
      'pass the organization id, which looks like o-a1b2c3d4e5 (aws organizations describe-organization)',
    );
  }
  return audience;
}

export interface LayerGrant {
  /** Derived from the grantee, so that a re-run adds the same statement and Lambda answers 409. */
  statementId: string;
  principal: string;
  organizationId?: string;
}

export function grantsFor(audience: LayerAudience | undefined): LayerGrant[] {
  if (audience === undefined) return [];
  if (audience.kind === 'public') return [{ statementId: 'create-lambda-extension-public', principal: '*' }];
  if (audience.kind === 'organization') {
    return [
      {
        statementId: `create-lambda-extension-${audience.organizationId}`,
        principal: '*',
        organizationId: audience.organizationId,
      },
    ];
  }
  return audience.accounts.map((account) => ({
    statementId: `create-lambda-extension-account-${account}`,
    principal: account,
  }));
}

/**
 * `--s3-bucket my-layers-{region}`: Lambda reads the zip from a bucket in the
 * layer's own region, so one fixed bucket cannot serve several regions.
 */
export function bucketFor(template: string, region: string): string {
  return template.replaceAll('{region}', region);
}

const bucketPattern = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function checkBucketTemplate(template: string, regions: readonly string[]): void {
  if (regions.length > 1 && !template.includes('{region}')) {
    throw usageError(
      'E_PUBLISH_BUCKET_INVALID',
      `--s3-bucket: one bucket "${template}" cannot serve ${regions.join(', ')}: Lambda only reads zips from a bucket in the layer's region`,
      `put {region} in the name and create one bucket per region, e.g. --s3-bucket ${template}-{region}`,
    );
  }
  for (const region of regions) {
    const bucket = bucketFor(template, region);
    if (!bucketPattern.test(bucket)) {
      throw usageError(
        'E_PUBLISH_BUCKET_INVALID',
        `--s3-bucket: "${bucket}" is not a valid S3 bucket name`,
        'bucket names have 3 to 63 characters: lower-case letters, digits, "." and "-"; {region} is replaced',
      );
    }
  }
}

import { readFile } from 'node:fs/promises';
import { errorCodes, type ErrorCode } from '../error-codes.js';
import { architectures, isArchitecture, type Architecture } from '../layer/index.js';
import { writeFileAtomic } from '../fs-utils.js';
import { isRegionName } from './names.js';

/** One layer version as IaC and CI read it: published["us-east-1"]["arm64"].arn. */
export interface PublishedMapEntry {
  layerName: string;
  arn?: string;
  version?: number;
  codeSha256: string;
  bytes: number;
  status: 'published' | 'skipped' | 'failed' | 'would-publish' | 'would-skip';
  /** Why a failed entry failed, as a stable code (docs/reference/errors.md). */
  code?: ErrorCode;
  error?: string;
}

export type PublishedMap = Record<string, Partial<Record<Architecture, PublishedMapEntry>>>;

/**
 * The publishing account, asked for only when an earlier entry could be kept
 * (an extra call otherwise); undefined when it cannot be known, and then no
 * earlier entry is kept.
 */
export type PublishingAccount = () => Promise<string | undefined>;

/** An object with no prototype: a key such as "__proto__" or "constructor" is just a key in it. */
export function emptyMap(): PublishedMap {
  return Object.create(null) as PublishedMap;
}

/** Keys that mean something to JavaScript objects; a published.json that holds them was not written by us. */
const forbiddenKeys = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * An earlier dist/published.json, read as data only: every object is rebuilt
 * without a prototype, region keys must look like regions, architecture keys
 * like architectures, and anything else is dropped.
 */
export function parsePublishedMap(text: string): PublishedMap {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return emptyMap();
  }
  const map = emptyMap();
  if (!isPlainRecord(parsed)) return map;
  for (const [region, architectureMap] of Object.entries(parsed)) {
    if (forbiddenKeys.has(region) || !isRegionName(region) || !isPlainRecord(architectureMap)) continue;
    for (const [architecture, entry] of Object.entries(architectureMap)) {
      if (forbiddenKeys.has(architecture) || !isArchitecture(architecture)) continue;
      const checked = checkedEntry(entry);
      if (checked !== undefined) (map[region] ??= Object.create(null) as PublishedMap[string])[architecture] = checked;
    }
  }
  return map;
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const statuses = new Set<PublishedMapEntry['status']>([
  'published',
  'skipped',
  'failed',
  'would-publish',
  'would-skip',
]);

function checkedEntry(value: unknown): PublishedMapEntry | undefined {
  if (!isPlainRecord(value)) return undefined;
  const { layerName, arn, version, codeSha256, bytes, status, code, error } = value;
  if (typeof layerName !== 'string' || typeof codeSha256 !== 'string' || typeof bytes !== 'number') return undefined;
  if (typeof status !== 'string' || !statuses.has(status as PublishedMapEntry['status'])) return undefined;
  return {
    layerName,
    ...(typeof arn === 'string' ? { arn } : {}),
    ...(typeof version === 'number' ? { version } : {}),
    codeSha256,
    bytes,
    status: status as PublishedMapEntry['status'],
    ...(typeof code === 'string' && Object.hasOwn(errorCodes, code) ? { code: code as ErrorCode } : {}),
    ...(typeof error === 'string' ? { error } : {}),
  };
}

/** arn:aws:lambda:us-east-1:123456789012:layer:demo-x86_64:3, in any partition. */
const layerVersionArnPattern = /^arn:aws[a-z-]*:lambda:([a-z0-9-]+):(\d{12}):layer:([A-Za-z0-9_-]{1,140}):(\d+)$/;

/**
 * Writes this run's map over the previous one. An entry from an earlier run
 * (another region, another architecture) is kept only while the manifest
 * still has its bytes and its ARN is a layer version of the publishing
 * account in that very region, so the file never points at a stale layer
 * version, nor at one a committed published.json slipped in.
 */
export async function writePublishedMap(
  file: string,
  current: PublishedMap,
  listedCodeSha256: ReadonlyMap<Architecture, string>,
  caller: PublishingAccount,
): Promise<PublishedMap> {
  const merged = emptyMap();
  // No earlier map, or an unreadable one: this run's map is the whole file.
  const previous = parsePublishedMap(await readFile(file, 'utf8').catch(() => ''));
  const regions = [...new Set([...Object.keys(previous), ...Object.keys(current)])].sort();
  const earlierOf = (region: string, architecture: Architecture): PublishedMapEntry | undefined =>
    Object.hasOwn(previous, region)
      ? candidateEntry(previous[region]?.[architecture], listedCodeSha256.get(architecture))
      : undefined;
  const hasCandidates = regions.some((region) => architectures.some((architecture) => earlierOf(region, architecture)));
  const account = hasCandidates ? await caller() : undefined;
  for (const region of regions) {
    for (const architecture of architectures) {
      const fresh = Object.hasOwn(current, region) ? current[region]?.[architecture] : undefined;
      const earlier = earlierOf(region, architecture);
      const kept =
        earlier !== undefined &&
        account !== undefined &&
        isOwnLayerVersion(earlier.arn!, { region, account, layerName: earlier.layerName })
          ? earlier
          : undefined;
      // A failed attempt (throttling, an expired token) must not erase an ARN that still holds these bytes.
      const entry = fresh === undefined || (fresh.status === 'failed' && kept !== undefined) ? kept : fresh;
      if (entry !== undefined) (merged[region] ??= Object.create(null) as PublishedMap[string])[architecture] = entry;
    }
  }
  const text = JSON.stringify(merged, null, 2);
  await writeFileAtomic(file, `${text}\n`);
  // Ordinary objects for callers; every key in them has been checked above.
  return JSON.parse(text) as PublishedMap;
}

/** Whether `arn` is a version of `layerName` owned by `account` in `region`. */
export function isOwnLayerVersion(
  arn: string,
  expected: { region: string; account: string; layerName?: string },
): boolean {
  const match = layerVersionArnPattern.exec(arn);
  if (match === null) return false;
  const [, region, account, layerName] = match;
  return (
    region === expected.region &&
    account === expected.account &&
    (expected.layerName === undefined || layerName === expected.layerName)
  );
}

/** An earlier entry worth keeping if its ARN turns out to be the caller's: same bytes, a real version. */
function candidateEntry(
  entry: PublishedMapEntry | undefined,
  codeSha256: string | undefined,
): PublishedMapEntry | undefined {
  if (entry === undefined || codeSha256 === undefined) return undefined;
  if (entry.codeSha256 !== codeSha256 || entry.arn === undefined) return undefined;
  return entry.status === 'published' || entry.status === 'skipped' ? entry : undefined;
}

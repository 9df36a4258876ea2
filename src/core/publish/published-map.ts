import { readFile } from 'node:fs/promises';
import { architectures, type Architecture } from '../architectures.js';
import { writeFileAtomic } from '../fs-utils.js';

/** One layer version as IaC and CI read it: published["us-east-1"]["arm64"].arn. */
export interface PublishedMapEntry {
  layerName: string;
  arn?: string;
  version?: number;
  codeSha256: string;
  bytes: number;
  status: 'published' | 'skipped' | 'failed' | 'would-publish' | 'would-skip';
  error?: string;
}

export type PublishedMap = Record<string, Partial<Record<Architecture, PublishedMapEntry>>>;

/**
 * Writes this run's map over the previous one. An entry from an earlier run
 * (another region, another architecture) is kept only while the manifest
 * still has its bytes, so the file never points at a stale layer version.
 */
export async function writePublishedMap(
  file: string,
  current: PublishedMap,
  listedCodeSha256: ReadonlyMap<Architecture, string>,
): Promise<PublishedMap> {
  const merged: PublishedMap = {};
  let previous: PublishedMap = {};
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as unknown;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) previous = parsed as PublishedMap;
  } catch {
    // No earlier map, or an unreadable one: this run's map is the whole file.
  }
  const regions = [...new Set([...Object.keys(previous), ...Object.keys(current)])].sort();
  for (const region of regions) {
    for (const architecture of architectures) {
      const fresh = current[region]?.[architecture];
      const kept = keptEntry(previous[region]?.[architecture], listedCodeSha256.get(architecture));
      // A failed attempt (throttling, an expired token) must not erase an ARN that still holds these bytes.
      const entry = fresh === undefined || (fresh.status === 'failed' && kept !== undefined) ? kept : fresh;
      if (entry !== undefined) (merged[region] ??= {})[architecture] = entry;
    }
  }
  await writeFileAtomic(file, `${JSON.stringify(merged, null, 2)}\n`);
  return merged;
}

function keptEntry(
  entry: PublishedMapEntry | undefined,
  codeSha256: string | undefined,
): PublishedMapEntry | undefined {
  if (entry === undefined || typeof entry !== 'object' || codeSha256 === undefined) return undefined;
  if (entry.codeSha256 !== codeSha256 || typeof entry.arn !== 'string') return undefined;
  return entry.status === 'published' || entry.status === 'skipped' ? entry : undefined;
}

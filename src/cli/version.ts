import { readFileSync } from 'node:fs';
import { toolkitRoot } from '../core/paths.js';
import path from 'node:path';

let cached: string | undefined;

export function toolkitVersion(): string {
  cached ??= (JSON.parse(readFileSync(path.join(toolkitRoot, 'package.json'), 'utf8')) as { version: string }).version;
  return cached;
}

import path from 'node:path';
import type { BuildResult } from '../core/build/index.js';
import { formatBytes } from '../core/format.js';
import { bold, dim, yellow } from './terminal.js';

export function printBuildResult(result: BuildResult, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const lines = [`${bold(result.name)} ${result.version} (${result.language})`];
  for (const layer of result.layers) {
    lines.push(`  ${layer.architecture}  ${dim(path.relative(process.cwd(), layer.directory) || '.')}`);
    for (const file of layer.files) {
      lines.push(
        `    ${file.mode.toString(8).padStart(4, '0')}  ${formatBytes(file.bytes).padStart(10)}  ${file.path}`,
      );
    }
  }
  for (const note of result.notes) lines.push(yellow(`note: ${note}`));
  process.stdout.write(`${lines.join('\n')}\n`);
}

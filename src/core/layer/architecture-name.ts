import path from 'node:path';
import type { Architecture } from './architectures.js';

const architectureInName = /(?:^|[-_.])(x86_64|x86-64|amd64|arm64|aarch64)(?=[-_.]|$)/i;

export function architectureFromFileName(fileName: string): Architecture | undefined {
  const match = architectureInName.exec(path.basename(fileName));
  if (match === null) return undefined;
  const word = match[1]!.toLowerCase();
  return word === 'arm64' || word === 'aarch64' ? 'arm64' : 'x86_64';
}

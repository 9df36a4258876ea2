import { spawn } from 'node:child_process';
import path from 'node:path';
import { timeCommand } from './measure.js';
import { absoluteRow, createBin, extBin, log, node } from './rows.js';

/**
 * A standalone TypeScript layer carries node itself: its zip must stay under
 * Lambda's 50 MB direct upload, with room for the bundle, hence ≤ 45 MB.
 */
export async function standaloneSizeFigures(workspace: string): Promise<void> {
  log('standalone TypeScript layer zips (node bundled, stripped)');
  const name = 'bench-standalone';
  await timeCommand(node, [createBin, name, '--lang', 'ts', '--standalone', '--yes'], { cwd: workspace });
  const project = path.join(workspace, name);
  const packed = await new Promise<string>((resolve, reject) => {
    const child = spawn(node, [extBin, 'pack', '--json'], { cwd: project, stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`ext pack exited with ${code}`))));
  });
  const result = JSON.parse(packed) as {
    standalone?: { nodeVersion: string };
    notes: string[];
    layers: { architecture: string; zippedBytes: number; unzippedBytes: number }[];
  };
  const megabytes = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
  for (const layer of result.layers) {
    const stripping = result.notes.find((note) => note.startsWith(`${layer.architecture}: bundled node`)) ?? '';
    absoluteRow(
      `standalone TS layer zip, ${layer.architecture} (node ${result.standalone?.nodeVersion ?? '?'})`,
      megabytes(layer.zippedBytes),
      'MB',
      '≤ 45 MB',
      megabytes(layer.zippedBytes) <= 45,
      `${megabytes(layer.unzippedBytes)} MB unzipped; ${stripping.replace(/^\S+: /, '')}`,
    );
  }
}

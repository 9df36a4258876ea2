/**
 * The cache template against the basic one, per language: how much later it registers (the signing library
 * it loads is the difference) and how much larger its layer zip is. Issue 33 chose the signing library by
 * these two figures; this keeps them measured.
 */
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { probeExtension } from './extensions.js';
import { paired, timeCommand } from './measure.js';
import { absoluteRow, createBin, extBin, log, node, rows, runs } from './rows.js';

const run = promisify(execFile);

/** Scaffolds, installs (TypeScript: the cache bundles @smithy's signer from node_modules) and packs one project. */
async function packedProject(workspace: string, template: 'basic' | 'cache', language: 'go' | 'ts'): Promise<string> {
  const name = `bench-${template}-${language}`;
  const project = path.join(workspace, name);
  await timeCommand(node, [createBin, name, '--lang', language, '--template', template, '--yes'], { cwd: workspace });
  if (language === 'ts') {
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: project });
  }
  await timeCommand(node, [extBin, 'pack', '--arch', 'x86_64'], { cwd: project });
  return project;
}

export async function cacheFigures(workspace: string): Promise<void> {
  for (const language of ['go', 'ts'] as const) {
    const label = language === 'go' ? 'Go' : 'TS';
    log(`${label} cache template against basic: packing both`);
    const basic = await packedProject(workspace, 'basic', language);
    const cache = await packedProject(workspace, 'cache', language);
    const program = (project: string, template: string) => ({
      command: path.join(project, 'dist', 'x86_64', 'extensions', `bench-${template}-${language}`),
      args: [],
    });
    log(`${label} cache template against basic: spawn to register`);
    const register = await paired(
      runs(15),
      async () => (await probeExtension(program(cache, 'cache'), 0)).registerMs,
      async () => (await probeExtension(program(basic, 'basic'), 0)).registerMs,
      2,
    );
    // Reported, not held to a target: the signing library is the price of signing at all (Go: the v4 signer and
    // credentials; TS: @smithy's signer to load), and issue 33 chose the smallest that does it by these figures.
    rows.push({
      figure: `generated ${label} cache extension: spawn to \`register\` received`,
      baseline: `the ${label} basic template`,
      ratio: register.ratio,
      medianMs: register.medianMs,
      baselineMedianMs: register.baselineMedianMs,
      target: 'reported',
      met: null,
    });
    const zip = async (project: string, template: string) =>
      (await stat(path.join(project, 'dist', `bench-${template}-${language}-x86_64.zip`))).size / 1e6;
    const [cacheZip, basicZip] = [await zip(cache, 'cache'), await zip(basic, 'basic')];
    absoluteRow(
      `generated ${label} cache layer zip, x86_64`,
      cacheZip,
      'MB',
      'reported',
      null,
      `basic: ${basicZip.toFixed(2)} MB (${(cacheZip / basicZip).toFixed(2)}×)`,
    );
  }
}

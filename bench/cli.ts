/** The bins' own cost: start-up, scaffolding, packing and building, each against its floor or its peer tool. */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { goBuildArguments, goBuildEnvironment } from '../src/core/build/index.js';
import { esbuildApi } from './floors.js';
import { paired, timeCommand } from './measure.js';
import { createBin, extBin, log, node, quick, ratioRow, rows, runs } from './rows.js';

const nodeEmpty = () => timeCommand(node, ['-e', '']);

export async function startupFigures(workspace: string): Promise<void> {
  log('ext --version, ext --help');
  ratioRow(
    '`ext --version`, whole process',
    "`node -e ''`",
    await paired(runs(15), () => timeCommand(node, [extBin, '--version']), nodeEmpty),
    1.5,
  );
  ratioRow(
    '`ext --help`, whole process',
    "`node -e ''`",
    await paired(runs(15), () => timeCommand(node, [extBin, '--help']), nodeEmpty),
    1.3,
  );
  for (const language of ['go', 'ts']) {
    log(`create-lambda-extension --lang ${language}`);
    let counter = 0;
    const create = () =>
      timeCommand(node, [createBin, `${language}-${(counter += 1)}`, '--lang', language, '--yes'], { cwd: workspace });
    ratioRow(
      `\`create-lambda-extension x --yes\` (${language === 'go' ? 'Go' : 'TS'}), whole process`,
      "`node -e ''`",
      await paired(runs(15), create, nodeEmpty),
      2.0,
    );
  }
}

async function totalSize(files: string[]): Promise<number> {
  return (await Promise.all(files.map(async (file) => (await stat(file)).size))).reduce((a, b) => a + b, 0);
}

export async function packFigures(goProject: string, name: string): Promise<void> {
  log('ext pack --no-build vs zip -r -9 -X');
  const zipOutput = await mkdtemp(path.join(os.tmpdir(), 'bench-zip-'));
  const infoZip = async () => {
    const started = performance.now();
    for (const architecture of ['x86_64', 'arm64']) {
      const target = path.join(zipOutput, `${architecture}.zip`);
      await rm(target, { force: true });
      await timeCommand('zip', ['-q', '-r', '-9', '-X', target, 'extensions'], {
        cwd: path.join(goProject, 'dist', architecture),
      });
    }
    return performance.now() - started;
  };
  const result = await paired(
    runs(10),
    () => timeCommand(node, [extBin, 'pack', '--no-build'], { cwd: goProject }),
    infoZip,
  );
  const ours = await totalSize(
    ['x86_64', 'arm64'].map((architecture) => path.join(goProject, 'dist', `${name}-${architecture}.zip`)),
  );
  const theirs = await totalSize(
    ['x86_64', 'arm64'].map((architecture) => path.join(zipOutput, `${architecture}.zip`)),
  );
  ratioRow(
    '`ext pack --no-build`, both architectures (Go)',
    '`zip -r -9 -X` of the two layer dirs, one after the other',
    result,
    0.6,
  );
  const sizeRatio = ours / theirs;
  rows.push({
    figure: 'layer zip size, both architectures (Go)',
    baseline: '`zip -r -9 -X`',
    ratio: sizeRatio,
    target: '≤ 1.02×',
    met: sizeRatio <= 1.02,
    note: `${ours} vs ${theirs} bytes`,
  });
  await rm(zipOutput, { recursive: true, force: true });
}

export async function goBuildFigures(goProject: string, name: string): Promise<void> {
  const output = await mkdtemp(path.join(os.tmpdir(), 'bench-go-'));
  const bareBuild = (environment: NodeJS.ProcessEnv) => async () => {
    const started = performance.now();
    for (const architecture of ['x86_64', 'arm64'] as const) {
      const args = goBuildArguments('0.1.0', path.join(output, architecture, name), '.');
      await timeCommand('go', args, { cwd: goProject, env: goBuildEnvironment(architecture, environment) });
    }
    return performance.now() - started;
  };
  log('ext build, warm cache');
  const warm = await paired(
    runs(6),
    () => timeCommand(node, [extBin, 'build'], { cwd: goProject }),
    bareBuild(process.env),
  );
  ratioRow(
    '`ext build`, warm cache, nothing changed, both architectures (Go)',
    'the two bare `go build` commands, one after the other',
    warm,
    1.3,
  );

  log('ext build, cold cache (slow: each run compiles the standard library twice)');
  const coldCache = async () => {
    const cache = await mkdtemp(path.join(os.tmpdir(), 'bench-gocache-'));
    return { env: { ...process.env, GOCACHE: cache }, done: () => rm(cache, { recursive: true, force: true }) };
  };
  const cold = await paired(
    quick ? 1 : 3,
    async () => {
      const cache = await coldCache();
      try {
        return await timeCommand(node, [extBin, 'build'], { cwd: goProject, env: cache.env });
      } finally {
        await cache.done();
      }
    },
    async () => {
      const cache = await coldCache();
      try {
        return await bareBuild(cache.env)();
      } finally {
        await cache.done();
      }
    },
    0,
  );
  ratioRow(
    '`ext build`, cold (empty `GOCACHE`), both architectures (Go)',
    'the same two bare `go build` commands, cold, one after the other',
    cold,
    1.0,
  );
  await rm(output, { recursive: true, force: true });
}

export async function typeScriptBuildFigure(tsProject: string): Promise<void> {
  log('ext build, TypeScript bundle, against esbuild called from a bare Node process');
  const outfile = path.join(await mkdtemp(path.join(os.tmpdir(), 'bench-esbuild-')), 'index.mjs');
  const floor = esbuildApi(tsProject, path.join(tsProject, 'src', 'index.ts'), outfile);
  ratioRow(
    '`ext build --arch x86_64`, TS bundle',
    "a Node process calling esbuild's JS API on the same entry with the same options",
    await paired(
      runs(15),
      () => timeCommand(node, [extBin, 'build', '--arch', 'x86_64'], { cwd: tsProject }),
      () => timeCommand(floor.command, floor.args, { cwd: tsProject }),
    ),
    1.3,
  );
  await rm(path.dirname(outfile), { recursive: true, force: true });
}

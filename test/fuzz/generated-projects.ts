import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { scaffold } from '../../src/core/create/index.js';
import type { FuzzBudget, FuzzStatistics, FuzzTarget } from './harness.js';

/**
 * The generated projects' own fuzz targets, run where a user runs them: in a
 * freshly scaffolded project. Go targets run with `go test -fuzz` (Go picks
 * its own inputs; a failure is written to the project's testdata/fuzz and
 * shown here). TS properties run with the project's `npm test` files, with
 * fast-check's global time limit set by a preloaded module.
 */

interface GoFuzzTarget {
  template: 'basic' | 'telemetry' | 'cache';
  name: string;
  packagePath: string;
  description: string;
}

export const goFuzzTargets: GoFuzzTarget[] = [
  {
    template: 'basic',
    name: 'FuzzEventUnmarshal',
    packagePath: './extension',
    description: 'event/next bodies: no panic, accepted events round-trip',
  },
  {
    template: 'basic',
    name: 'FuzzSettingsPrefix',
    packagePath: '.',
    description: 'any extension name gives a valid environment variable prefix',
  },
  {
    template: 'basic',
    name: 'FuzzInitialize',
    packagePath: '.',
    description: 'random LOG_LEVEL values: no panic, refusals name the variable',
  },
  {
    template: 'telemetry',
    name: 'FuzzDecodeBatch',
    packagePath: './telemetry',
    description: 'Telemetry API delivery bodies: no panic, 200 exactly for batches, batches round-trip',
  },
  {
    template: 'telemetry',
    name: 'FuzzOwnOutputMatches',
    packagePath: './telemetry',
    description: 'records never claimed as own output across types or for an empty name',
  },
  {
    template: 'telemetry',
    name: 'FuzzLoadConfig',
    packagePath: '.',
    description:
      'random settings and memory sizes: no panic, accepted configs within range, problems name their variable',
  },
  {
    template: 'telemetry',
    name: 'FuzzParseHeaders',
    packagePath: '.',
    description: 'random HTTP_HEADERS: no panic, accepted headers are sendable',
  },
  {
    template: 'cache',
    name: 'FuzzParseParameterQuery',
    packagePath: '.',
    description: 'parameters query strings: no panic, a 400 or a well-formed query that parses back the same',
  },
  {
    template: 'cache',
    name: 'FuzzParseSecretQuery',
    packagePath: '.',
    description: 'secrets query strings: no panic, a 400 or a well-formed query that parses back the same',
  },
  {
    template: 'cache',
    name: 'FuzzLoadConfig',
    packagePath: '.',
    description: "random values for AWS's and the cache's settings: no panic, in range or refused by name",
  },
];

const projects = new Map<string, Promise<string>>();

/** One scaffolded project per language and template, for the whole process; removed at exit. */
export function scaffoldedProject(language: 'go' | 'ts', template: string): Promise<string> {
  const key = `${language}-${template}`;
  let project = projects.get(key);
  if (project === undefined) {
    project = (async () => {
      const root = await mkdtemp(path.join(os.tmpdir(), 'fuzz-project-'));
      process.once('exit', () => void rm(root, { recursive: true, force: true }));
      const directory = path.join(root, `fuzz-${key}`);
      await scaffold({
        directory,
        name: `fuzz-${key}`,
        language,
        template,
        architectures: ['x86_64'],
        events: ['INVOKE', 'SHUTDOWN'],
      });
      return directory;
    })();
    projects.set(key, project);
  }
  return project;
}

export function runCommand(
  command: string,
  args: string[],
  cwd: string,
  environment: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, ...environment },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('close', (code) => resolve({ code, output }));
  });
}

/**
 * Go 1.26 and older can end a duration-bounded `-fuzztime` run with a bare
 * "context deadline exceeded" failure when the deadline races a worker's last
 * call (golang/go#75804, fixed in Go 1.27): no input failed and none was
 * written. Told apart from a finding by what a finding always prints.
 */
export function isFuzztimeDeadlineRace(output: string): boolean {
  return (
    /^\s*context deadline exceeded$/m.test(output) &&
    !/Failing input written to|panic:|^\s+\S+_test\.go:\d+:/m.test(output)
  );
}

async function runGoFuzz(target: GoFuzzTarget, budget: FuzzBudget): Promise<FuzzStatistics> {
  const project = await scaffoldedProject('go', target.template);
  const seconds = Math.max(1, Math.round(budget.timeLimitMs / 1000));
  // One worker: the machine's other core belongs to whatever else runs.
  const args = [
    'test',
    '-run=^$',
    `-fuzz=^${target.name}$`,
    `-fuzztime=${seconds}s`,
    '-parallel=1',
    target.packagePath,
  ];
  let result = await runCommand('go', args, project, { CGO_ENABLED: '0' });
  // Once: the race is rare, so a second one in a row is reported like any failure.
  if (result.code !== 0 && isFuzztimeDeadlineRace(result.output))
    result = await runCommand('go', args, project, { CGO_ENABLED: '0' });
  const executions = [...result.output.matchAll(/execs: (\d+)/g)].map((match) => Number(match[1]));
  if (result.code !== 0) {
    const corpus = path.join(project, target.packagePath, 'testdata', 'fuzz', target.name);
    const inputs = await readdir(corpus).catch(() => [] as string[]);
    const written = await Promise.all(
      inputs.map(async (input) => `${input}:\n${await readFile(path.join(corpus, input), 'utf8')}`),
    );
    throw new Error(
      `go ${args.join(' ')} failed in a ${target.template} project:\n${result.output.slice(-4000)}\n${written.join('\n')}`,
    );
  }
  return { runs: executions.at(-1) ?? 0, batches: 1 };
}

interface TsPropertyTarget {
  template: 'basic' | 'telemetry' | 'cache';
  /** The compiled property file, relative to the project's .test-build. */
  file: string;
  properties: number;
  description: string;
}

export const tsPropertyTargets: TsPropertyTarget[] = [
  {
    template: 'basic',
    file: 'test/extensions-api.properties.test.js',
    properties: 2,
    description:
      'event/next bodies decode to well-formed events or ExtensionsApiError; settings prefixes are valid variable names',
  },
  {
    template: 'telemetry',
    file: 'test/telemetry.properties.test.js',
    properties: 4,
    description:
      'listener answers 200 exactly for batches; own-output filter; settings give in-range configs or ConfigError; parsed headers are sendable',
  },
  {
    template: 'cache',
    file: 'test/query.properties.test.js',
    properties: 2,
    description:
      'parameters and secrets query strings parse to a well-formed query or a QueryError, and parse back the same',
  },
];

const installed = new Map<string, Promise<string>>();

/** A scaffolded TS project with its devDependencies (fast-check among them) installed and its tests compiled. */
function installedTsProject(template: string): Promise<string> {
  let project = installed.get(template);
  if (project === undefined) {
    project = (async () => {
      const directory = await scaffoldedProject('ts', template);
      for (const args of [
        ['install', '--no-audit', '--no-fund'],
        ['run', 'test:compile'],
      ]) {
        const result = await runCommand('npm', args, directory);
        if (result.code !== 0)
          throw new Error(`npm ${args.join(' ')} failed in a ${template} project:\n${result.output.slice(-4000)}`);
      }
      return directory;
    })();
    installed.set(template, project);
  }
  return project;
}

async function runTsProperties(target: TsPropertyTarget, budget: FuzzBudget): Promise<FuzzStatistics> {
  const project = await installedTsProject(target.template);
  const testBuild = path.join(project, '.test-build');
  // fast-check's global settings, loaded before the tests: each property runs until its share of the time is up.
  const perProperty = Math.max(1000, Math.floor(budget.timeLimitMs / target.properties));
  await writeFile(
    path.join(testBuild, 'fuzz-settings.mjs'),
    `import fc from 'fast-check';\nfc.configureGlobal({ seed: ${budget.seed}, numRuns: 2 ** 31 - 1, interruptAfterTimeLimit: ${perProperty} });\n`,
  );
  const args = ['--import', './fuzz-settings.mjs', '--test', '--test-timeout=0', target.file];
  const result = await runCommand(process.execPath, args, testBuild);
  if (result.code !== 0) {
    throw new Error(
      `node ${args.join(' ')} failed in a ${target.template} project (seed ${budget.seed}):\n${result.output.slice(-6000)}`,
    );
  }
  return { runs: 0, batches: target.properties };
}

export async function generatedProjectTargets(): Promise<FuzzTarget[]> {
  return [
    ...goFuzzTargets.map((target) => ({
      name: `go-${target.template}-${target.name}`,
      description: `generated Go ${target.template} project, ${target.name}: ${target.description}`,
      run: (budget: FuzzBudget) => runGoFuzz(target, budget),
    })),
    ...tsPropertyTargets.map((target) => ({
      name: `ts-${target.template}-properties`,
      description: `generated TS ${target.template} project, ${target.file}: ${target.description}`,
      run: (budget: FuzzBudget) => runTsProperties(target, budget),
    })),
  ];
}

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it, test } from 'node:test';
import { addNodeExtension, makeLayer } from '../helpers/emulator-fixtures.js';
import {
  goBinary,
  temporaryDirectory as layerTemporaryDirectory,
  writeGoLayer,
  writeProject,
} from '../helpers/layer-fixtures.js';
import { buildZip } from '../helpers/zip-fixtures.js';
import { createBin, extBin, repositoryRoot, run, runExt } from '../helpers/run-cli.js';
import { errorCodes } from '../../src/core/error-codes.js';

describe('ext', () => {
  it('--version prints the package version', async () => {
    const { version } = JSON.parse(await readFile(path.join(repositoryRoot, 'package.json'), 'utf8'));
    const result = await runExt(['--version']);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, `${version}\n`);
  });

  it('--help lists every command', async () => {
    const result = await runExt(['--help']);
    assert.equal(result.code, 0);
    for (const command of ['build', 'pack', 'inspect [zip..]', 'dev', 'publish', 'add <what>'])
      assert.ok(result.stdout.includes(`ext ${command} `), command);
  });

  it('calls a mistyped command a command, with exit code 2', async () => {
    const result = await runExt(['biuld']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^error\[E_USAGE_UNKNOWN_COMMAND\]: unknown command "biuld"/m);
    assert.match(result.stderr, /^hint: did you mean ext build\? the commands are build, pack, inspect, dev/m);
  });

  it('suggests the flag a typo meant, for each command’s own flags', async () => {
    for (const [args, meant] of [
      [['build', '--arhc', 'arm64'], '--arch'],
      [['dev', '--invoke', '2'], '--invokes'],
    ] as const) {
      const result = await runExt([...args]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, new RegExp(`^hint: did you mean ${meant}\\?`, 'm'), args.join(' '));
    }
    const far = await runExt(['build', '--frobnicate']);
    assert.doesNotMatch(far.stderr, /did you mean/, 'no guess when nothing is close');
    const create = await run(process.execPath, [createBin, 'x', '--lnag', 'ts']);
    assert.equal(create.code, 2, create.stderr);
    assert.match(create.stderr, /^hint: did you mean --lang\?/m);
  });

  it('--json failures print one error document on stdout, the same shape for every command', async () => {
    const workspace = await layerTemporaryDirectory();
    {
      // The code of each failure whose code this test owns; the others only have to be in the catalog.
      for (const [args, expected] of [
        [['build', '--arhc', 'x', '--json'], 'E_USAGE_UNKNOWN_FLAG'],
        [['pack', '--json'], 'E_CONFIG_MISSING'],
        [['inspect', 'missing.zip', '--json'], 'E_ZIP_NOT_FOUND'],
        [['dev', '--json', '--invokes', '0'], undefined],
        [['publish', '--json'], 'E_PUBLISH_NOT_A_PROJECT'],
        [['add', 'iac', 'nope', '--json'], 'E_ADD_KIND_UNKNOWN'],
      ] as const) {
        const result = await runExt([...args], { cwd: workspace });
        assert.ok(result.code !== 0 && result.code !== null, `${args.join(' ')} fails`);
        const document = JSON.parse(result.stdout) as {
          error: { code: string; message: string; hint?: string; exitCode: number };
        };
        assert.deepEqual(Object.keys(document), ['error'], args.join(' '));
        assert.ok(Object.hasOwn(errorCodes, document.error.code), `${args.join(' ')}: ${document.error.code}`);
        if (expected !== undefined) assert.equal(document.error.code, expected, args.join(' '));
        assert.equal(typeof document.error.message, 'string');
        assert.equal(document.error.exitCode, result.code, `${args.join(' ')}: exitCode is the exit code`);
        assert.ok(
          result.stderr.startsWith(`error[${document.error.code}]: `),
          `the human message, with the same code, still goes to stderr: ${result.stderr}`,
        );
      }
      const create = await run(process.execPath, [createBin, '--json']);
      assert.equal(create.code, 2);
      assert.equal((JSON.parse(create.stdout) as { error: { exitCode: number } }).error.exitCode, 2);
    }
  });

  it('names an unknown flag, with exit code 2', async () => {
    const result = await runExt(['build', '--frobnicate']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^error\[E_USAGE_UNKNOWN_FLAG\]: unknown argument: frobnicate/m);
  });

  it('asks for a command when given none', async () => {
    const result = await runExt([]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^error\[E_USAGE\]: name a command: build, pack, inspect, dev, publish or add/m);
  });
});

/**
 * Runs `node <bin> args | head <headArgs>` in bash and returns the bin's own
 * exit code (PIPESTATUS[0]) and stderr, which is what a closed stdout breaks.
 */
async function pipedIntoHead(
  bin: string,
  args: string[],
  headArgs: string[],
): Promise<{ code: number; stderr: string }> {
  const directory = await layerTemporaryDirectory('ext-epipe-');
  const errorFile = path.join(directory, 'stderr');
  const script = 'err=$1; n=$2; shift 2; "${@:1:n}" 2>"$err" | head "${@:n+1}" >/dev/null; exit "${PIPESTATUS[0]}"';
  const command = [process.execPath, bin, ...args];
  const result = await run('bash', ['-c', script, 'bash', errorFile, String(command.length), ...command, ...headArgs], {
    timeoutMs: 60_000,
  });
  return { code: result.code ?? -1, stderr: await readFile(errorFile, 'utf8') };
}

const noCrash = (stderr: string) => {
  assert.doesNotMatch(stderr, /EPIPE|internal error|Unhandled|at .*\.m?js:\d+/, stderr);
};

describe('a closed stdout is a normal end', () => {
  it('ext --help | head -1 and create-lambda-extension --help | head -1 exit 0 quietly', async () => {
    for (const bin of [extBin, createBin]) {
      const result = await pipedIntoHead(bin, ['--help'], ['-c', '1']);
      assert.equal(result.code, 0, result.stderr);
      noCrash(result.stderr);
    }
  });

  it('every command, with stdout closed before it writes, exits without a stack trace', async () => {
    const directory = await layerTemporaryDirectory('ext-epipe-');
    const zip = path.join(directory, 'demo-x86_64.zip');
    await writeFile(
      zip,
      buildZip([{ name: 'extensions/' }, { name: 'extensions/demo', data: await goBinary('x86_64'), mode: 0o100755 }]),
    );
    for (const args of [['--help'], ['--version'], ['inspect', zip], ['inspect', zip, '--json'], ['build', '--help']]) {
      const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [extBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        child.stdout.destroy();
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.on('close', (code) => resolve({ code, stderr }));
      });
      assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
      noCrash(result.stderr);
    }
  });

  it('ext dev | head -1 stops the run quietly, exit 0', async () => {
    const layer = await makeLayer();
    await addNodeExtension(layer, 'chatty');
    const result = await pipedIntoHead(
      extBin,
      ['dev', '--layer', layer, '--invokes', '50', '--interval', '20'],
      ['-n', '1'],
    );
    assert.equal(result.code, 0, result.stderr);
    noCrash(result.stderr);
  });
});

/** The description column of every command, option and example line of a help text (unwrapped: not a terminal). */
function helpDescriptions(help: string): string[] {
  return help
    .split('\n')
    .filter((line) => /^ {2}\S|^ {6}--/.test(line))
    .map((line) => line.trim().split(/ {2,}/)[1])
    .filter((description): description is string => description !== undefined && !description.startsWith('['));
}

describe('help', () => {
  const commands = [[], ['build'], ['pack'], ['inspect'], ['dev'], ['publish'], ['add'], ['add', 'ci'], ['add', 'iac']];

  it('every description is in sentence case without a final period, in both bins', async () => {
    const helps = [
      ...(await Promise.all(commands.map((command) => runExt([...command, '--help'])))),
      await run(process.execPath, [createBin, '--help']),
    ];
    for (const result of helps) {
      assert.equal(result.code, 0);
      const descriptions = helpDescriptions(result.stdout);
      assert.ok(descriptions.length > 3, result.stdout);
      for (const description of descriptions) {
        assert.match(description, /^[^a-z]/, `lower-case start: ${description}`);
        assert.doesNotMatch(description, /\.$/, `final period: ${description}`);
      }
    }
  });

  it('ext --help has examples, and no example command is broken across lines', async () => {
    const top = await runExt(['--help']);
    assert.match(top.stdout, /^Examples:\n {2}ext /m);
    for (const command of commands) {
      const { stdout } = await runExt([...command, '--help']);
      const examples = stdout.split('Examples:\n')[1] ?? '';
      for (const line of examples.split('\n').filter((text) => text.trim() !== ''))
        assert.match(
          line,
          /^ {2}(\S.* )?ext \S.* {2,}[A-Z]/,
          `broken example line in ext ${command.join(' ')}: ${line}`,
        );
    }
  });

  it('--version is not the first flag a command lists', async () => {
    for (const command of commands.slice(1)) {
      const { stdout } = await runExt([...command, '--help']);
      const flags = stdout.split('Options:\n')[1]!.split('\n\n')[0]!.split('\n');
      assert.doesNotMatch(flags[0]!, /--version/, `ext ${command.join(' ')}`);
      assert.match(flags.at(-2) ?? '', /--version|--help/);
    }
  });

  it('-v prints the version in both bins', async () => {
    const { version } = JSON.parse(await readFile(path.join(repositoryRoot, 'package.json'), 'utf8'));
    for (const bin of [extBin, createBin]) {
      const result = await run(process.execPath, [bin, '-v']);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, `${version}\n`);
    }
  });

  it("rewrites yargs' own errors into error[code]: and hint:, naming the flag and its choices", async () => {
    const choice = await runExt(['inspect', 'x.zip', '--arch', 'mips']);
    assert.equal(choice.code, 2);
    assert.equal(
      choice.stderr,
      'error[E_USAGE_BAD_VALUE]: --arch: "mips" is not one of x86_64, arm64\nhint: pass --arch x86_64 or --arch arm64\n',
    );
    const missing = await runExt(['inspect']);
    assert.equal(missing.code, 2);
    assert.match(
      missing.stderr,
      /^error\[E_USAGE_MISSING_ARGUMENT\]: ext inspect: .*\nhint: for example: ext inspect /,
    );
    const both = await runExt(['publish', '--public', '--principal', '111122223333']);
    assert.equal(both.code, 2);
    assert.match(
      both.stderr,
      /^error\[E_USAGE_CONFLICTING_FLAGS\]: --public and --principal cannot be used together\nhint: /,
    );
    const valueless = await runExt(['dev', '--invokes']);
    assert.equal(valueless.code, 2);
    assert.match(
      valueless.stderr,
      /^error\[E_USAGE_MISSING_VALUE\]: --invokes: missing its value\nhint: run ext dev --help to see the flags\n$/,
    );
    for (const result of [choice, missing, both, valueless])
      assert.doesNotMatch(result.stderr, /Argument:|non-option|mutually|following/);
  });
});

describe('project commands in a subdirectory', () => {
  it('walk up to the nearest lambda-extension.json, say which one, and stop at another project', async () => {
    const project = await layerTemporaryDirectory('ext-walk-');
    await writeProject(project, { architectures: ['x86_64'] });
    await writeGoLayer(path.join(project, 'dist', 'x86_64'), 'x86_64');
    const deep = path.join(project, 'extension', 'deeper');
    await mkdir(deep, { recursive: true });

    const text = await runExt(['pack', '--no-build'], { cwd: deep });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stderr, /^using \.\.\/\.\.\/lambda-extension\.json$/m);
    assert.ok(existsSync(path.join(project, 'dist', 'demo-x86_64.zip')));

    const json = await runExt(['pack', '--no-build', '--json'], { cwd: deep });
    assert.equal(json.code, 0, json.stderr);
    assert.doesNotMatch(json.stderr, /using/);
    JSON.parse(json.stdout);

    // In the project folder itself, nothing to say.
    const here = await runExt(['pack', '--no-build', '--json'], { cwd: project });
    assert.equal(here.code, 0, here.stderr);
    assert.equal(here.stderr, '');

    // A folder that is the root of another project is not part of this one.
    const other = path.join(project, 'tools', 'other-app');
    await mkdir(other, { recursive: true });
    await writeFile(path.join(other, 'package.json'), '{}\n');
    const refused = await runExt(['pack', '--no-build'], { cwd: other });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^error\[E_CONFIG_MISSING\]: .*other-app$/m);
  });
});

describe('ext dev flag ranges', () => {
  it("refuses --timeout and --memory outside Lambda's range, naming the flag and the range", async () => {
    const cases: [string[], RegExp][] = [
      [
        ['--timeout', '901'],
        /^error\[E_\w+\]: --timeout: expected a number from 0\.001 to 900 \(Lambda's range\), got "901"$/m,
      ],
      [
        ['--memory', '10241'],
        /^error\[E_\w+\]: --memory: expected a whole number from 128 to 10240 \(Lambda's range\), got "10241"$/m,
      ],
      [
        ['--memory', '127'],
        /^error\[E_\w+\]: --memory: expected a whole number from 128 to 10240 \(Lambda's range\), got "127"$/m,
      ],
    ];
    for (const [flags, message] of cases) {
      const result = await runExt(['dev', ...flags]);
      assert.equal(result.code, 2, `${flags.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.match(result.stderr, /^hint: /m);
    }
  });
});

test('ext --help and -h off a terminal print the prerendered help, identical to what yargs renders', async () => {
  const fromParser = await runExt(['--help'], { env: { EXT_HELP_FROM_PARSER: '1' } });
  assert.equal(fromParser.code, 0, fromParser.stderr);
  assert.match(fromParser.stdout, /^ext <command> \[options\]/u);
  const file = await readFile(path.join(repositoryRoot, 'build', 'cli', 'ext-help.txt'), 'utf8');
  assert.equal(file, fromParser.stdout, 'the build wrote the help yargs renders today');
  for (const flag of ['--help', '-h']) {
    const prerendered = await runExt([flag]);
    assert.equal(prerendered.code, 0, prerendered.stderr);
    assert.equal(prerendered.stdout, fromParser.stdout, `${flag} matches yargs byte for byte`);
  }
});

import assert from 'node:assert/strict';
import { scaled } from '../helpers/time-scale.js';
import { existsSync } from 'node:fs';
import { cp, lstat, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { coldNpxToFirstPrompt } from '../../bench/first-prompt.js';
import { describeRun, repositoryRoot, run, temporaryDirectory, type RunResult } from '../helpers/run-cli.js';
import { onlyInTestAll } from '../helpers/tiers.js';

/**
 * The package as users get it. Every other test runs the CLI from this
 * checkout, and a `file:` install is a symlink that hides whatever the
 * tarball lacks. Here: copy the checkout as a clean clone has it (no build/,
 * no node_modules), `npm pack` it, install the tarball into a scratch
 * project, scaffold from there and run each generated project's flow exactly
 * as its README says.
 */
let workspace: { path: string; cleanup: () => Promise<void> };
let tarball: string;
let scratch: string;

const quiet = ['--no-audit', '--no-fund', '--loglevel=error'];

function ok(result: RunResult, what: string): RunResult {
  assert.equal(result.code, 0, `${what}: ${describeRun(result)}`);
  return result;
}

before(async () => {
  workspace = await temporaryDirectory('cle-package-');
  const clone = path.join(workspace.path, 'clone');
  await copyCheckout(clone);
  ok(await run('npm', ['ci', ...quiet], { cwd: clone, timeoutMs: 300_000 }), 'npm ci in the clone');
  const packed = ok(
    await run('npm', ['pack', '--json', '--pack-destination', workspace.path], { cwd: clone, timeoutMs: 300_000 }),
    'npm pack',
  );
  const [details] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as [{ filename: string }];
  tarball = path.join(workspace.path, details.filename);

  scratch = path.join(workspace.path, 'scratch');
  await mkdir(scratch);
  await writeFile(path.join(scratch, 'package.json'), '{ "private": true }\n');
  ok(await run('npm', ['install', ...quiet, tarball], { cwd: scratch, timeoutMs: 300_000 }), 'npm install tarball');
});
after(async () => workspace?.cleanup());

/**
 * What `git clone` would give, uncommitted edits included: tracked and
 * untracked-but-not-ignored files, so build/ and node_modules stay behind.
 */
async function copyCheckout(destination: string): Promise<void> {
  const listed = ok(
    await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repositoryRoot }),
    'git ls-files',
  );
  for (const file of listed.stdout.split('\0').filter(Boolean)) {
    if (!existsSync(path.join(repositoryRoot, file))) continue; // deleted but not yet committed
    await mkdir(path.dirname(path.join(destination, file)), { recursive: true });
    await cp(path.join(repositoryRoot, file), path.join(destination, file));
  }
}

describe('the published package', () => {
  it('holds the built CLI, the precompiled templates and the licence, and nothing of the toolkit’s own tests or sources', async () => {
    const listing = ok(await run('tar', ['-tzf', tarball]), 'tar -t');
    const files = listing.stdout
      .split('\n')
      .filter(Boolean)
      .map((file) => file.replace(/^package\//u, ''));
    for (const required of [
      'LICENSE',
      'README.md',
      'package.json',
      'bin/ext.js',
      'bin/create-lambda-extension.js',
      'build/cli/ext.mjs',
      'build/cli/create.mjs',
      'build/cli/ext-help.txt',
      'build/src/index.js',
      'build/src/index.d.ts',
      'build/templates-precompiled/go/basic.mjs',
      'build/templates-precompiled/ts/telemetry.mjs',
      'build/templates-precompiled/shared/iac/sam.mjs',
      'templates/go.mod',
      'templates/shared/ci/github/_github/workflows/release.yml.hbs',
      'templates/shared/iac/sam/infra/template.yaml.hbs',
      'templates/shared/iac/terraform/infra/_gitignore',
      'templates/shared/iac/cdk/infra/go.mod',
      'templates/shared/cost/null-extension/go/main.go',
      'templates/shared/cost/null-extension/ts/src/index.ts',
    ]) {
      assert.ok(files.includes(required), `${required} is missing from the tarball`);
    }
    const unwanted = files.filter(
      (file) =>
        /^(src|test|bench|scripts|build\/test|build\/bench|build\/scripts)\//u.test(file) || file.endsWith('.map'),
    );
    assert.deepEqual(unwanted, [], 'the tarball ships no tests, fixtures, sources or source maps');

    const installed = path.join(scratch, 'node_modules', 'create-lambda-extension');
    assert.ok(!(await lstat(installed)).isSymbolicLink(), 'a tarball install is a real copy');
  });

  for (const language of ['go', 'ts'] as const) {
    it(
      `scaffolds a ${language} project whose whole README flow works against the tarball`,
      {
        timeout: scaled(600_000),
        // The README's first screen (below) runs the same flow from the tarball on a Go project (the default
        // language), whose npm test is go vet ./... && go test ./...: in npm test, TypeScript here, Go there.
        skip: language === 'ts' ? false : onlyInTestAll('the release-tarball test below runs this flow in Go'),
      },
      async () => {
        const project = path.join(scratch, `${language}-ext`);
        const created = ok(
          await run(
            path.join(scratch, 'node_modules', '.bin', 'create-lambda-extension'),
            [project, '--lang', language, '--yes'],
            {
              cwd: scratch,
            },
          ),
          'create-lambda-extension',
        );
        assert.match(created.stdout, /npm install/u, 'next steps start with npm install');

        const manifest = JSON.parse(await readFile(path.join(project, 'package.json'), 'utf8')) as {
          devDependencies: Record<string, string>;
        };
        const vendored = `vendor/${path.basename(tarball)}`;
        assert.equal(
          manifest.devDependencies['create-lambda-extension'],
          `file:./${vendored}`,
          'an unpublished toolkit is depended on by its exact tarball, copied into the project',
        );
        assert.ok(
          (await readFile(path.join(project, vendored))).equals(await readFile(tarball)),
          'the vendored tarball is the one that was installed, byte for byte',
        );

        ok(await run('npm', ['install', ...quiet], { cwd: project, timeoutMs: 300_000 }), 'npm install');
        const toolkit = path.join(project, 'node_modules', 'create-lambda-extension');
        assert.ok(!(await lstat(toolkit)).isSymbolicLink(), 'the project got a copy of the tarball');
        assert.ok(existsSync(path.join(project, 'node_modules', '.bin', 'ext')), 'the ext bin is ours');

        ok(await run('npm', ['test'], { cwd: project, timeoutMs: 300_000 }), 'npm test');
        if (language === 'go') {
          // Go's ./... must not walk into the installed toolkit's Go templates.
          ok(await run('go', ['vet', './...'], { cwd: project, timeoutMs: 300_000 }), 'go vet ./...');
          ok(await run('go', ['test', './...'], { cwd: project, timeoutMs: 300_000 }), 'go test ./...');
        }
        ok(await run('npm', ['run', 'build'], { cwd: project, timeoutMs: 300_000 }), 'npm run build');
        ok(await run('npm', ['run', 'pack'], { cwd: project, timeoutMs: 300_000 }), 'npm run pack');
        const zips = (await readdir(path.join(project, 'dist'))).filter((file) => file.endsWith('.zip'));
        assert.deepEqual(zips.sort(), [`${language}-ext-arm64.zip`, `${language}-ext-x86_64.zip`]);
        const dev = ok(
          await run('npm', ['run', 'dev', '--', '--invokes', '2'], { cwd: project, timeoutMs: 300_000 }),
          'npm run dev -- --invokes 2',
        );
        assert.match(dev.stdout + dev.stderr, /passed/u);
        // ext cost builds its null extension from the installed toolkit's templates, with the project's esbuild.
        const cost = ok(
          await run('npx', ['--no', '--', 'ext', 'cost', '--cold-starts', '1', '--invokes', '2', '--json'], {
            cwd: project,
            timeoutMs: 300_000,
          }),
          'ext cost',
        );
        assert.equal((JSON.parse(cost.stdout) as { status: string }).status, 'passed');
      },
    );
  }

  it(
    'a cold npx of the tarball installs the toolkit alone and reaches the first prompt',
    { timeout: scaled(600_000) },
    async () => {
      // A fresh npm cache folder: nothing downloaded or unpacked before, as on a newcomer's machine.
      const { packages } = await coldNpxToFirstPrompt(tarball, 300_000);
      assert.equal(packages, 1, 'npx installed create-lambda-extension and nothing else');
    },
  );

  it('a command that needs a peer dependency the project lacks says which npm install -D to run', async () => {
    // scratch/ has the tarball installed alone: no esbuild, no typescript.
    const project = path.join(scratch, 'no-peers');
    ok(
      await run(
        path.join(scratch, 'node_modules', '.bin', 'create-lambda-extension'),
        [project, '--lang', 'ts', '--yes'],
        {
          cwd: scratch,
        },
      ),
      'create-lambda-extension',
    );
    const built = await run(path.join(scratch, 'node_modules', '.bin', 'ext'), ['build', '--no-typecheck'], {
      cwd: project,
    });
    assert.equal(built.code, 1, describeRun(built));
    assert.match(
      built.stderr,
      /^error\[E_PEER_DEPENDENCY_MISSING\]: bundling a TypeScript extension needs esbuild, which is not installed$/m,
    );
    assert.match(built.stderr, /^hint: run npm install -D esbuild@\^0\.\d+\.\d+ in the project/m);
  });

  it('the top README’s quick start installs before it runs ext', async () => {
    const readme = await readFile(path.join(repositoryRoot, 'README.md'), 'utf8');
    // The project's own flow: the last sh block of the first screen (the one before holds the ways in).
    const firstScreen = readme.slice(0, readme.indexOf('\n## '));
    const quickStart = firstScreen.slice(firstScreen.lastIndexOf('```sh'));
    const install = quickStart.indexOf('npm install');
    const firstExt = Math.min(
      ...['npx ext', 'npm run build', 'npm run pack']
        .map((command) => quickStart.indexOf(command))
        .filter((at) => at >= 0),
    );
    assert.ok(
      install >= 0 && install < firstExt,
      'cd into the project and npm install come before the first ext command',
    );
  });
});

/**
 * The README's first screen, pasted as a newcomer would: its first sh block
 * holds one group of commands per way in ("# from ..."), its second the
 * project's own flow. Each way runs from an empty npm cache, then the project
 * is committed, cloned elsewhere with the toolkit's tarball or checkout and
 * every cache gone, and `npm ci` and `npm test` must still pass: what the
 * project's CI does on a clone pushed anywhere.
 */
describe('the README’s first screen, pasted on a fresh machine', () => {
  interface FirstScreen {
    waysIn: Map<string, string[]>;
    projectFlow: string[];
  }

  async function firstScreen(): Promise<FirstScreen> {
    const readme = await readFile(path.join(repositoryRoot, 'README.md'), 'utf8');
    const top = readme.slice(0, readme.indexOf('\n## '));
    const blocks = [...top.matchAll(/^```sh\n([\s\S]*?)^```$/gmu)].map((match) => match[1]!.split('\n'));
    assert.equal(blocks.length, 2, 'the first screen has the ways in, then the project flow');
    const waysIn = new Map<string, string[]>();
    let current: string[] | undefined;
    for (const line of blocks[0]!) {
      const heading = /^# (from .*)$/u.exec(line);
      if (heading !== null) waysIn.set(heading[1]!, (current = []));
      else if (line.trim() !== '') current?.push(line);
    }
    return { waysIn, projectFlow: blocks[1]!.filter((line) => line.trim() !== '') };
  }

  function way(screen: FirstScreen, prefix: string): string[] {
    const entry = [...screen.waysIn].find(([heading]) => heading.startsWith(prefix));
    assert.ok(entry !== undefined, `the README's first screen has a "# ${prefix}" group`);
    return entry[1];
  }

  /** Runs lines as one sh script (set -e), with a private npm cache and no test-runner context. */
  async function paste(lines: string[], cwd: string, cache: string, what: string): Promise<RunResult> {
    return ok(
      await run('sh', ['-c', ['set -e', ...lines].join('\n')], {
        cwd,
        timeoutMs: 900_000,
        env: { npm_config_cache: cache, NODE_TEST_CONTEXT: undefined },
      }),
      what,
    );
  }

  /** The project flow, then the project committed, cloned, and installed and tested on the clone alone. */
  async function projectWorksAnywhere(
    screen: FirstScreen,
    base: string,
    t: { diagnostic: (message: string) => void },
    removeToolkit: () => Promise<void>,
  ): Promise<void> {
    const flow = screen.projectFlow.filter((line) => !/\bext publish\b/u.test(line));
    t.diagnostic('ext publish left out: it needs AWS (test/e2e/publish.test.ts runs it against moto)');
    await paste(flow, base, path.join(base, 'cache-project'), 'the project flow');

    const project = path.join(base, 'my-ext');
    const manifest = JSON.parse(await readFile(path.join(project, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    assert.match(
      manifest.devDependencies['create-lambda-extension']!,
      /^file:\.\/vendor\/create-lambda-extension-.*\.tgz$/u,
    );

    const git = ['-c', 'user.name=test', '-c', 'user.email=test@example.com'];
    ok(await run('git', ['init', '-q'], { cwd: project }), 'git init');
    ok(await run('git', [...git, 'add', '-A'], { cwd: project }), 'git add');
    ok(await run('git', [...git, 'commit', '-qm', 'scaffold'], { cwd: project }), 'git commit');
    const elsewhere = path.join(workspace.path, `${path.basename(base)}-elsewhere`);
    ok(await run('git', ['clone', '-q', project, elsewhere]), 'git clone');
    await removeToolkit();
    for (const gone of [project, path.join(base, 'cache-way-in'), path.join(base, 'cache-project')]) {
      await rm(gone, { recursive: true, force: true });
    }
    await paste(
      ['npm ci --no-audit --no-fund', 'npm test'],
      elsewhere,
      path.join(base, 'cache-clone'),
      'npm ci && npm test on the clone',
    );
  }

  it('from the registry, once published', async (t) => {
    const screen = await firstScreen();
    const lines = way(screen, 'from the npm registry');
    assert.deepEqual(
      lines.map((line) => line.split('#')[0]!.trim()),
      ['npx create-lambda-extension my-ext'],
    );
    const version = (
      JSON.parse(await readFile(path.join(repositoryRoot, 'package.json'), 'utf8')) as { version: string }
    ).version;
    const published = await run('npm', ['view', `create-lambda-extension@${version}`, 'version'], {
      timeoutMs: 60_000,
    });
    if (published.code !== 0 || published.stdout.trim() !== version) {
      t.skip(`create-lambda-extension@${version} is not on the registry yet (npm view found nothing)`);
      return;
    }
    const base = path.join(workspace.path, 'registry-way');
    await mkdir(base);
    await paste(lines, base, path.join(base, 'cache-way-in'), 'the registry way in');
    assert.ok(existsSync(path.join(base, 'my-ext', 'lambda-extension.json')));
  });

  it(
    'from a release tarball: create, the project flow, then npm ci && npm test on a clone without the tarball',
    { timeout: scaled(1_800_000) },
    async (t) => {
      const screen = await firstScreen();
      const lines = way(screen, 'from a release tarball');
      const named = /\.\/(create-lambda-extension-[^\s]+\.tgz)/u.exec(lines.join('\n'))?.[1];
      assert.equal(named, path.basename(tarball), 'the README names the tarball npm pack makes of this version');
      const base = path.join(workspace.path, 'tarball-way');
      await mkdir(base);
      const copy = path.join(base, named);
      await cp(tarball, copy);
      await paste(lines, base, path.join(base, 'cache-way-in'), 'the tarball way in');
      await projectWorksAnywhere(screen, base, t, () => rm(copy));
    },
  );

  it(
    'from a checkout: create, the project flow, then npm ci && npm test on a clone without the checkout',
    // The project flow and the clone are the release tarball's above; this adds the checkout's own npm ci and build.
    { timeout: scaled(1_800_000), skip: onlyInTestAll('the release-tarball way runs the same project flow') },
    async (t) => {
      const screen = await firstScreen();
      const lines = way(screen, 'from a checkout');
      const base = path.join(workspace.path, 'checkout-way');
      const checkout = path.join(base, 'create-lambda-extension');
      await copyCheckout(checkout);
      await paste(lines, base, path.join(base, 'cache-way-in'), 'the checkout way in');
      await projectWorksAnywhere(screen, base, t, () => rm(checkout, { recursive: true, force: true }));
    },
  );
});

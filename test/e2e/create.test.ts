import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, realpath, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import prompts from 'prompts';
import { nextSteps, resolveCreateOptions } from '../../src/cli/create.js';
import { CancelledError } from '../../src/core/errors.js';
import { listFiles } from '../../src/core/fs-utils.js';
import { sharedTemplateFiles } from '../../src/core/infrastructure/templates.js';
import { projectPathOf, templateSources } from '../../src/core/templates/index.js';
import { keys, startTerminal } from '../helpers/pseudo-terminal.js';
import { testAll } from '../helpers/tiers.js';
import { createBin, describeRun, repositoryRoot, run, runCreate, temporaryDirectory } from '../helpers/run-cli.js';

let workspace: { path: string; cleanup: () => Promise<void> };
before(async () => {
  workspace = await temporaryDirectory('cle-create-');
});
after(async () => workspace.cleanup());

/** The template's files and, as --ci defaults to github off a terminal, the workflows. */
async function expectedFiles(language: 'go' | 'ts', template = 'basic'): Promise<string[]> {
  const workflows = await sharedTemplateFiles({ language, ci: 'github', iac: 'none' });
  // Created from this checkout, not the registry: the project carries the toolkit's tarball.
  const { version } = JSON.parse(await readFile(path.join(repositoryRoot, 'package.json'), 'utf8')) as {
    version: string;
  };
  return [
    ...(await templateSources(language, template)).keys(),
    ...workflows.map((file) => projectPathOf(file.relative)),
    `vendor/create-lambda-extension-${version}.tgz`,
  ].sort();
}

async function scaffoldNonInteractive(directory: string, extra: string[]): Promise<void> {
  const result = await runCreate([directory, '--no-interactive', ...extra], { cwd: workspace.path, timeoutMs: 60_000 });
  assert.equal(result.code, 0, describeRun(result));
  assert.match(result.stdout, /Next steps:/);
}

/**
 * The generated project's own test suite runs once per language and template (here for the default events; the
 * other templates in their own tests, and test/e2e/node-versions.test.ts on Lambda's node versions). The events
 * only change what is rendered, so the other events variants render and type-check (go vet, tsc), unless
 * `npm run test:all` asks for everything.
 */
const fullSuite = (events: string): boolean => testAll || events === 'INVOKE,SHUTDOWN';

describe('create-lambda-extension, Go', () => {
  for (const events of ['INVOKE,SHUTDOWN', 'SHUTDOWN', 'INVOKE']) {
    it(`scaffolds a project whose own checks pass (events ${events}${fullSuite(events) ? '' : ': render, vet'})`, async () => {
      const directory = path.join(workspace.path, `go-${events.replace(',', '-').toLowerCase()}`);
      await scaffoldNonInteractive(directory, ['--lang', 'go', '--events', events, '--module', 'example.com/acme/ext']);
      const files = await listFiles(directory);
      assert.deepEqual(files, await expectedFiles('go'));
      for (const required of [
        '.gitignore',
        '.gitattributes',
        'lambda-extension.json',
        'README.md',
        'package.json',
        'go.mod',
        'main.go',
      ]) {
        assert.ok(files.includes(required), `${required} missing from ${files.join(', ')}`);
      }
      assert.ok(!files.some((file) => file.endsWith('.hbs') || path.basename(file).startsWith('_')));
      const config = JSON.parse(await readFile(path.join(directory, 'lambda-extension.json'), 'utf8'));
      assert.equal(config.name, path.basename(directory));
      assert.deepEqual(config.events, events.split(','));
      assert.match(
        await readFile(path.join(directory, 'go.mod'), 'utf8'),
        /^module example\.com\/acme\/ext\n\ngo 1\.\d+/,
      );

      const gofmt = await run('gofmt', ['-l', '.'], { cwd: directory });
      assert.equal(gofmt.stdout, '', `gofmt -l lists files:\n${gofmt.stdout}`);
      // go vet compiles and type-checks every package, tests included.
      const vet = await run('go', ['vet', './...'], { cwd: directory });
      assert.equal(vet.code, 0, describeRun(vet));
      if (!fullSuite(events)) return;
      const test = await run('go', ['test', '-count=1', './...'], { cwd: directory });
      assert.equal(test.code, 0, describeRun(test));
    });
  }
});

describe('create-lambda-extension, TypeScript', () => {
  let sharedModules: string | undefined;
  for (const events of ['INVOKE,SHUTDOWN', 'SHUTDOWN', 'INVOKE']) {
    it(`scaffolds a project whose own typecheck${fullSuite(events) ? ' and tests pass' : ' passes'} (events ${events})`, async () => {
      const directory = path.join(workspace.path, `ts-${events.replace(',', '-').toLowerCase()}`);
      await scaffoldNonInteractive(directory, ['--lang', 'ts', '--events', events]);
      const files = await listFiles(directory);
      assert.deepEqual(files, await expectedFiles('ts'));
      for (const required of [
        '.gitignore',
        '.gitattributes',
        'lambda-extension.json',
        'README.md',
        'package.json',
        'tsconfig.json',
        'src/index.ts',
      ]) {
        assert.ok(files.includes(required), `${required} missing`);
      }
      const manifest = JSON.parse(await readFile(path.join(directory, 'package.json'), 'utf8'));
      assert.deepEqual(Object.keys(manifest.dependencies ?? {}), [], 'no runtime dependencies');
      if (sharedModules === undefined) {
        // Install once, pointing the toolkit at this checkout rather than the registry.
        const set = await run('npm', ['pkg', 'set', `devDependencies.create-lambda-extension=file:${repositoryRoot}`], {
          cwd: directory,
        });
        assert.equal(set.code, 0, describeRun(set));
        const install = await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
          cwd: directory,
          timeoutMs: 300_000,
        });
        assert.equal(install.code, 0, describeRun(install));
        sharedModules = path.join(directory, 'node_modules');
        assert.ok(existsSync(path.join(sharedModules, '.bin', 'ext')), 'the ext bin is installed from the checkout');
      } else {
        await symlink(sharedModules, path.join(directory, 'node_modules'), 'dir');
      }
      const typecheck = await run(path.join(sharedModules, '.bin', 'tsc'), ['--noEmit', '-p', '.'], { cwd: directory });
      assert.equal(typecheck.code, 0, describeRun(typecheck));
      if (!fullSuite(events)) return;
      // Without NODE_TEST_CONTEXT, which this file's own run sets: a child
      // `node --test` that inherits it skips every file and still exits 0.
      const test = await run('npm', ['test'], {
        cwd: directory,
        timeoutMs: 120_000,
        env: { NODE_TEST_CONTEXT: undefined },
      });
      assert.equal(test.code, 0, describeRun(test));
      const passed = /^[#ℹ] pass (\d+)$/m.exec(test.stdout);
      assert.ok(passed && Number(passed[1]) > 0, `the project's own tests ran and passed:\n${describeRun(test)}`);
      assert.match(test.stdout, /^[#ℹ] fail 0$/m);
    });
  }
});

describe('create-lambda-extension, refusals', () => {
  it('refuses a non-empty directory and leaves its files byte-identical', async () => {
    const directory = path.join(workspace.path, 'occupied');
    await mkdir(directory);
    const original = Buffer.from('keep me\r\n\u0000binary');
    await writeFile(path.join(directory, 'main.go'), original);
    const result = await runCreate([directory, '--yes']);
    assert.equal(result.code, 1, describeRun(result));
    assert.match(result.stderr, /^error\[E_CREATE_DIRECTORY_NOT_EMPTY\]: .*occupied /m);
    assert.match(result.stderr, /^hint: .*--force/m);
    assert.deepEqual(await readFile(path.join(directory, 'main.go')), original);
    assert.deepEqual(await readdir(directory), ['main.go']);
    assert.deepEqual(
      (await readdir(workspace.path)).filter((entry) => entry.includes('.create-')),
      [],
      'no staging left behind',
    );
  });

  it('accepts a directory that holds only .git', async () => {
    const directory = path.join(workspace.path, 'only-git');
    await mkdir(path.join(directory, '.git'), { recursive: true });
    await scaffoldNonInteractive(directory, ['--lang', 'go']);
    assert.ok(existsSync(path.join(directory, 'main.go')));
  });

  it('--force adds and overwrites template files, keeps other files and lists what it overwrote', async () => {
    const directory = path.join(workspace.path, 'forced');
    await mkdir(directory);
    await writeFile(path.join(directory, 'README.md'), 'old readme');
    await writeFile(path.join(directory, 'notes.txt'), 'mine');
    const result = await runCreate([directory, '--yes', '--force', '--lang', 'ts']);
    assert.equal(result.code, 0, describeRun(result));
    assert.match(result.stdout, /overwrote 1 file\(s\): README\.md/);
    assert.equal(await readFile(path.join(directory, 'notes.txt'), 'utf8'), 'mine');
    assert.notEqual(await readFile(path.join(directory, 'README.md'), 'utf8'), 'old readme');
    const json = await runCreate([directory, '--yes', '--force', '--lang', 'ts', '--json']);
    assert.equal(json.code, 0, describeRun(json));
    assert.ok(JSON.parse(json.stdout).overwritten.includes('package.json'));
  });

  const badNames = ['../x', 'a/b', 'has space', "quo'te", 'ünï', '-x', 'x'.repeat(65)];
  for (const name of badNames) {
    it(`refuses --name ${JSON.stringify(name)} before writing anything`, async () => {
      const before = await readdir(workspace.path);
      const result = await runCreate([`--name=${name}`, '--yes'], { cwd: workspace.path });
      assert.equal(result.code, 2, describeRun(result));
      assert.match(result.stderr, /^error\[E_CREATE_NAME_INVALID\]: --name: /m);
      assert.deepEqual(await readdir(workspace.path), before);
    });
  }

  it('refuses a directory whose base name is not a valid name, naming --name', async () => {
    const result = await runCreate(['bad dir', '--yes'], { cwd: workspace.path });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^error\[E_CREATE_NAME_INVALID\]: --name: /m);
    assert.ok(!existsSync(path.join(workspace.path, 'bad dir')));
  });

  it('refuses unknown flag values, naming the flag', async () => {
    for (const [flag, value, code] of [
      ['--lang', 'rust', 'E_CREATE_LANGUAGE_UNKNOWN'],
      ['--arch', 'amd64', 'E_CREATE_ARCH_INVALID'],
      ['--events', 'START', 'E_CREATE_EVENTS_INVALID'],
      ['--template', 'nope', 'E_TEMPLATE_UNKNOWN'],
    ] as const) {
      const result = await runCreate(['x-bad', flag, value, '--yes'], { cwd: workspace.path });
      assert.equal(result.code, 2, describeRun(result));
      assert.match(result.stderr, new RegExp(`^error\\[${code}\\]: ${flag}: `, 'm'), describeRun(result));
      assert.match(result.stderr, /^hint: /m);
      assert.ok(!existsSync(path.join(workspace.path, 'x-bad')));
    }
  });

  it('never hangs without a terminal and without flags: fails fast listing what is missing', async () => {
    for (const env of [{ CI: '' }, { CI: 'true' }]) {
      const result = await runCreate([], { cwd: workspace.path, env, timeoutMs: 15_000 });
      assert.equal(result.code, 2, describeRun(result));
      assert.match(result.stderr, /^error\[E_CREATE_DIRECTORY_MISSING\]: /m);
    }
  });

  it('--name alone scaffolds into ./<name>', async () => {
    const result = await runCreate(['--name', 'named-only', '--yes'], { cwd: workspace.path });
    assert.equal(result.code, 0, describeRun(result));
    assert.ok(existsSync(path.join(workspace.path, 'named-only', 'lambda-extension.json')));
  });
});

describe('create-lambda-extension, file modes', () => {
  for (const umask of ['077', '002']) {
    it(`files get their template's mode and folders what umask ${umask} allows`, async () => {
      const directory = path.join(workspace.path, `umask-${umask}`);
      const result = await run(
        'sh',
        ['-c', `umask ${umask} && exec "$0" "$@"`, process.execPath, createBin, directory, '--yes'],
        {
          cwd: workspace.path,
        },
      );
      assert.equal(result.code, 0, describeRun(result));
      const sources = new Map(
        [...(await templateSources('go', 'basic'))].map(([projectPath, { source }]) => [projectPath, source]),
      );
      for (const file of await listFiles(directory)) {
        const source = sources.get(file);
        if (source === undefined) continue;
        const expected = (await stat(source)).mode & 0o777;
        assert.equal(((await stat(path.join(directory, file))).mode & 0o777).toString(8), expected.toString(8), file);
      }
      const folderMode = 0o777 & ~Number.parseInt(umask, 8);
      for (const folder of ['.', 'extension', '.github/workflows']) {
        assert.equal(
          ((await stat(path.join(directory, folder))).mode & 0o777).toString(8),
          folderMode.toString(8),
          folder,
        );
      }
    });
  }
});

describe('create-lambda-extension, next steps', () => {
  it('uses the npm scripts, never npx ext, after cd and npm install', () => {
    const text = nextSteps(
      {
        directory: path.join(workspace.path, 'steps'),
        name: 'steps',
        language: 'go',
        template: 'basic',
        ci: 'none',
        iac: 'none',
        files: [],
        overwritten: [],
        toolkit: { dependency: '^0.1.0', origin: 'registry' },
      },
      workspace.path,
    );
    const commands = text
      .split('\n')
      .filter((line) => line.startsWith('  '))
      .map((line) => line.trim().split(/\s+#/)[0]!.trim());
    assert.deepEqual(commands, [
      'cd steps',
      'npm install',
      'npm run build',
      'npm run pack',
      'npm run dev',
      'go test ./...',
    ]);
    assert.doesNotMatch(text, /npx/);
  });

  for (const name of ["it's", 'a$b', 'two words', '-dash', 'back`tick']) {
    it(`quotes ${JSON.stringify(name)} so that a shell cd reaches it`, async () => {
      const directory = path.join(workspace.path, 'quoting', name);
      await mkdir(directory, { recursive: true });
      const text = nextSteps(
        {
          directory,
          name: 'q',
          language: 'ts',
          template: 'basic',
          ci: 'none',
          iac: 'none',
          files: [],
          overwritten: [],
          toolkit: { dependency: '^0.1.0', origin: 'registry' },
        },
        path.join(workspace.path, 'quoting'),
      );
      const cd = /^ {2}(cd .*?)\s+# enter the project$/m.exec(text)?.[1];
      assert.ok(cd !== undefined, text);
      const result = await run('sh', ['-c', `${cd} && pwd -P`], { cwd: path.join(workspace.path, 'quoting') });
      assert.equal(result.code, 0, describeRun(result));
      assert.equal(result.stdout.trim(), await realpath(directory));
    });
  }
});

describe('create-lambda-extension, interactive', () => {
  it('asks for what flags did not give (prompts.inject)', async () => {
    prompts.inject(['inj-dir', 'ts', 'basic', ['arm64'], ['SHUTDOWN'], false, 'none', 'terraform']);
    const options = await resolveCreateOptions({}, true);
    assert.deepEqual(options, {
      directory: 'inj-dir',
      name: 'inj-dir',
      language: 'ts',
      template: 'basic',
      architectures: ['arm64'],
      events: ['SHUTDOWN'],
      goModule: undefined,
      force: undefined,
      ci: 'none',
      iac: 'terraform',
    });
  });

  it('asks whether a TypeScript layer bundles its own node; yes sets standalone', async () => {
    prompts.inject(['sa-dir', 'ts', 'basic', ['x86_64'], ['INVOKE'], true, 'none', 'none']);
    const options = await resolveCreateOptions({}, true);
    assert.equal(options.standalone, true);
    assert.equal(options.nodeVersion, undefined);
  });

  it('flags win over prompts: nothing is asked for what was given', async () => {
    let asked = 0;
    const ask = (async () => {
      asked += 1;
      return {};
    }) as unknown as typeof prompts;
    const options = await resolveCreateOptions(
      { dir: 'd', lang: 'go', template: 'basic', arch: 'x86_64', events: 'INVOKE', ci: 'github', iac: 'none' },
      true,
      ask,
    );
    assert.equal(asked, 0);
    assert.equal(options.language, 'go');
  });

  it('Ctrl-U erases the typed line and Ctrl-W the last word, as in a shell, not typed in as characters', async () => {
    const session = startTerminal(
      [
        process.execPath,
        createBin,
        ...['--lang', 'ts', '--template', 'basic', '--arch', 'x86_64', '--events', 'SHUTDOWN'],
        ...['--no-standalone', '--ci', 'none', '--iac', 'none'],
      ],
      { cwd: workspace.path },
    );
    await session.waitFor(/Project directory/);
    session.type(`oops\u0015tty-line-edit/junk\u0017${keys.enter}`);
    const { code, output } = await session.exited;
    assert.equal(code, 0, output);
    assert.ok(existsSync(path.join(workspace.path, 'tty-line-edit', 'lambda-extension.json')), output);
  });

  it('runs on a real terminal: select, multiselect, then scaffolds', async () => {
    const session = startTerminal([process.execPath, createBin], { cwd: workspace.path });
    await session.waitFor(/Project directory/);
    session.type(`tty-project${keys.enter}`);
    await session.waitFor(/Language/);
    session.type(keys.down + keys.enter); // TypeScript
    await session.waitFor(/Template/);
    session.type(keys.enter); // basic
    await session.waitFor(/Architectures/);
    session.type(keys.space + keys.enter); // untick x86_64
    await session.waitFor(/Events to register for/);
    session.type(keys.enter);
    await session.waitFor(/Bundle node in the layer/);
    session.type(keys.enter); // no
    await session.waitFor(/Continuous integration/);
    session.type(keys.enter); // GitHub Actions
    await session.waitFor(/Infrastructure as code/);
    session.type(keys.down + keys.enter); // AWS SAM
    const { code, output } = await session.exited;
    assert.equal(code, 0, output);
    const config = JSON.parse(
      await readFile(path.join(workspace.path, 'tty-project', 'lambda-extension.json'), 'utf8'),
    );
    assert.equal(config.language, 'ts');
    assert.deepEqual(config.architectures, ['arm64']);
    assert.deepEqual(config.events, ['INVOKE', 'SHUTDOWN']);
    assert.ok(existsSync(path.join(workspace.path, 'tty-project', '.github', 'workflows', 'release.yml')));
    assert.ok(existsSync(path.join(workspace.path, 'tty-project', 'infra', 'template.yaml')));
  });

  for (const [label, key] of [
    ['Ctrl-C', keys.ctrlC],
    ['Esc', keys.escape],
  ] as const) {
    it(`${label} at a prompt prints Operation cancelled, exits non-zero and writes nothing`, async () => {
      const before = await readdir(workspace.path);
      const session = startTerminal([process.execPath, createBin, 'cancelled-project'], { cwd: workspace.path });
      await session.waitFor(/Language/);
      session.type(key);
      const { code, output } = await session.exited;
      assert.notEqual(code, 0);
      assert.match(output, /Operation cancelled/);
      assert.deepEqual(await readdir(workspace.path), before);
    });
  }

  it('refuses a non-empty directory before asking anything', async () => {
    const directory = path.join(workspace.path, 'occupied-tty');
    await mkdir(directory);
    await writeFile(path.join(directory, 'keep.txt'), 'mine');
    const session = startTerminal([process.execPath, createBin, directory], { cwd: workspace.path });
    const { code, output } = await session.exited;
    assert.equal(code, 1, output);
    assert.match(output, /is not empty/);
    assert.doesNotMatch(output, /Language/);
  });

  it('rejects control characters (Ctrl-B) in the directory prompt and asks again', async () => {
    const before = await readdir(workspace.path);
    const session = startTerminal([process.execPath, createBin], { cwd: workspace.path });
    await session.waitFor(/Project directory/);
    session.type(`abc\u0002def${keys.enter}`);
    await session.waitFor(/directory name contains the control character \\x02/);
    session.type(`${'\u007f'.repeat(8)}clean-typed${keys.enter}`);
    await session.waitFor(/Language/);
    session.type(keys.ctrlC);
    const { code, output } = await session.exited;
    assert.equal(code, 130, output);
    assert.deepEqual(await readdir(workspace.path), before);
  });

  it('refuses control characters in [dir], naming it, before writing anything', async () => {
    const before = await readdir(workspace.path);
    const result = await runCreate(['abc\u0015def', '--yes'], { cwd: workspace.path });
    assert.equal(result.code, 2, describeRun(result));
    assert.match(result.stderr, /^error\[E_CREATE_DIRECTORY_UNUSABLE\]: \[dir\]: .*\\x15$/m);
    assert.match(result.stderr, /^hint: /m);
    assert.deepEqual(await readdir(workspace.path), before);
  });

  it('asks again when the typed directory is not empty', async () => {
    const occupied = path.join(workspace.path, 'occupied-typed');
    await mkdir(occupied);
    await writeFile(path.join(occupied, 'keep.txt'), 'mine');
    const session = startTerminal([process.execPath, createBin], { cwd: workspace.path });
    await session.waitFor(/Project directory/);
    session.type(`occupied-typed${keys.enter}`);
    await session.waitFor(/occupied-typed is not empty: type another name, or rerun with --force/);
    session.type(`${'\u007f'.repeat(14)}fresh-typed${keys.enter}`);
    await session.waitFor(/Language/);
    session.type(keys.ctrlC);
    const { code, output } = await session.exited;
    assert.equal(code, 130, output);
    assert.equal(await readFile(path.join(occupied, 'keep.txt'), 'utf8'), 'mine');
  });

  it('a multi-select left empty asks again in plain words', async () => {
    const session = startTerminal(
      [process.execPath, createBin, 'empty-choice', '--lang', 'go', '--template', 'basic'],
      { cwd: workspace.path },
    );
    await session.waitFor(/Architectures/);
    session.type(keys.space + keys.down + keys.space + keys.enter);
    await session.waitFor(/Architectures \(choose at least one\)/);
    session.type(keys.ctrlC);
    const { code, output } = await session.exited;
    assert.equal(code, 130, output);
    assert.doesNotMatch(output, /minimum of 1 choices/);
  });

  it("NO_COLOR turns the prompts' colours off", async () => {
    const session = startTerminal([process.execPath, createBin, 'no-colour'], {
      cwd: workspace.path,
      env: { NO_COLOR: '1' },
    });
    await session.waitFor(/Language/);
    session.type(keys.ctrlC);
    const { code, output } = await session.exited;
    assert.equal(code, 130, output);
    // eslint-disable-next-line no-control-regex -- an SGR (colour) sequence is what must not be there
    assert.doesNotMatch(output, /\u001b\[[0-9;]*m/);
  });

  it('refuses --module with --lang ts: only Go has a module path', async () => {
    const result = await runCreate(['module-ts', '--lang', 'ts', '--module', 'example.com/x', '--yes'], {
      cwd: workspace.path,
    });
    assert.equal(result.code, 2, describeRun(result));
    assert.match(result.stderr, /^error\[E_CREATE_FLAGS_CONFLICT\]: --module: /m);
    assert.ok(!existsSync(path.join(workspace.path, 'module-ts')));
  });

  it('--interactive without a terminal fails at once instead of hanging or guessing', async () => {
    const result = await runCreate(['no-tty', '--interactive'], { cwd: workspace.path, timeoutMs: 15_000 });
    assert.equal(result.code, 2, describeRun(result));
    assert.match(result.stderr, /^error\[E_CREATE_NO_TERMINAL\]: --interactive: /m);
    assert.ok(!existsSync(path.join(workspace.path, 'no-tty')));
  });

  it('CancelledError is what onCancel throws', async () => {
    prompts.inject([new Error('cancel')]);
    await assert.rejects(resolveCreateOptions({}, true), CancelledError);
  });

  it('the staging directory of a successful run is gone', async () => {
    const leftovers = (await readdir(workspace.path)).filter((entry) => entry.includes('.create-'));
    assert.deepEqual(leftovers, []);
    assert.ok((await stat(workspace.path)).isDirectory());
  });
});

describe('create-lambda-extension, Go telemetry', () => {
  for (const events of ['SHUTDOWN', 'INVOKE,SHUTDOWN']) {
    it(`scaffolds a Go project that registers ${events} and whose own checks pass`, async () => {
      const directory = path.join(workspace.path, `telemetry-${events.replace(',', '-').toLowerCase()}`);
      await scaffoldNonInteractive(directory, ['--lang', 'go', '--template', 'telemetry', '--events', events]);
      const config = JSON.parse(await readFile(path.join(directory, 'lambda-extension.json'), 'utf8'));
      assert.deepEqual(config.events, events.split(','));
      const registersInvoke = events.includes('INVOKE');
      assert.match(
        await readFile(path.join(directory, 'main.go'), 'utf8'),
        new RegExp(`^const registersInvoke = ${registersInvoke}$`, 'm'),
      );
      const vet = await run('go', ['vet', './...'], { cwd: directory });
      assert.equal(vet.code, 0, describeRun(vet));
      const test = await run('go', ['test', '-count=1', './...'], { cwd: directory, timeoutMs: 120_000 });
      assert.equal(test.code, 0, describeRun(test));
    });
  }
});

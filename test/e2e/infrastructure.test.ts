import assert from 'node:assert/strict';
import { scaled } from '../helpers/time-scale.js';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pinnedActions } from '../../src/core/infrastructure/pinned-actions.js';
import {
  actionlint,
  cdkNodeModules,
  cfnLint,
  iacPython,
  parseTerraform,
  terraformBlocks,
} from '../helpers/infrastructure-tools.js';
import { describeRun, run, runCreate, runExt, temporaryDirectory } from '../helpers/run-cli.js';
import { onlyInTestAll } from '../helpers/tiers.js';

/**
 * The generated workflows and IaC, checked with the tools users run on them:
 * actionlint, cfn-lint, python-hcl2 (Terraform's own CLI cannot be had here),
 * and tsc plus `cdk synth` against aws-cdk-lib.
 */
const [linter, python, cdk] = await Promise.all([actionlint(), iacPython(), cdkNodeModules()]);
for (const [tool, result] of [
  ['actionlint', linter],
  ['cfn-lint and python-hcl2', python],
  ['aws-cdk-lib', cdk],
] as const) {
  if ('skip' in result) process.stdout.write(`# skipping the ${tool} tests: ${result.skip}\n`);
}

let workspace: { path: string; cleanup: () => Promise<void> };

interface Project {
  directory: string;
  name: string;
  language: 'go' | 'ts';
  template: string;
  architectures: string[];
}

/** The four templates, each with CI and a different IaC and architecture set. */
const projects: Record<string, Project & { iac: string }> = {
  goBasic: {
    name: 'go-basic',
    language: 'go',
    template: 'basic',
    architectures: ['x86_64', 'arm64'],
    iac: 'sam',
    directory: '',
  },
  goTelemetry: {
    name: 'go-tele',
    language: 'go',
    template: 'telemetry',
    architectures: ['arm64'],
    iac: 'terraform',
    directory: '',
  },
  tsBasic: {
    name: 'ts-basic',
    language: 'ts',
    template: 'basic',
    architectures: ['x86_64'],
    iac: 'cdk',
    directory: '',
  },
  tsTelemetry: {
    name: 'ts-tele',
    language: 'ts',
    template: 'telemetry',
    architectures: ['x86_64', 'arm64'],
    iac: 'none',
    directory: '',
  },
};

async function create(project: Project, extra: string[]): Promise<void> {
  const result = await runCreate(
    [
      project.name,
      '--lang',
      project.language,
      '--template',
      project.template,
      '--arch',
      project.architectures.join(','),
      '--no-interactive',
      ...extra,
    ],
    { cwd: workspace.path, timeoutMs: 60_000 },
  );
  assert.equal(result.code, 0, describeRun(result));
  project.directory = path.join(workspace.path, project.name);
}

const read = (project: Project, file: string): Promise<string> => readFile(path.join(project.directory, file), 'utf8');
const workflowFiles = ['.github/workflows/test.yml', '.github/workflows/release.yml'];

before(async () => {
  workspace = await temporaryDirectory('cle-infra-');
  // --ci is left out: its non-interactive default is github.
  await Promise.all(Object.values(projects).map((project) => create(project, ['--iac', project.iac])));
});
after(async () => workspace.cleanup());

describe('generated GitHub workflows', () => {
  it('every project gets both workflows and a publish.json listing its architectures', async () => {
    for (const project of Object.values(projects)) {
      for (const file of workflowFiles) assert.ok(existsSync(path.join(project.directory, file)), file);
      const config = JSON.parse(await read(project, '.github/publish.json')) as {
        regions: string[];
        architectures: string[];
      };
      assert.deepEqual(config.architectures, project.architectures);
      assert.ok(config.regions.length > 0);
    }
  });

  it('pins every action to a release commit SHA, with the version in a comment', async () => {
    const known = new Map<string, string>(Object.values(pinnedActions).map(({ sha, version }) => [sha, version]));
    for (const project of Object.values(projects)) {
      for (const file of workflowFiles) {
        const text = await read(project, file);
        const uses = [...text.matchAll(/^\s*(?:- )?uses: (\S+)(.*)$/gm)];
        assert.ok(uses.length > 0, file);
        for (const [line, reference, comment] of uses) {
          const match = /^[\w.-]+\/[\w.-]+@([0-9a-f]{40})$/.exec(reference!);
          assert.ok(match !== null, `${file}: ${line.trim()} is not pinned to a full commit SHA`);
          assert.equal(comment!.trim(), `# ${known.get(match[1]!)}`, `${file}: ${line.trim()}`);
          assert.match(comment!, /# v\d+\.\d+\.\d+$/);
        }
      }
    }
  });

  it('test runs on push and pull request with the language setup, caches and the four commands', async () => {
    for (const project of Object.values(projects)) {
      const text = await read(project, '.github/workflows/test.yml');
      assert.match(text, /^on:\n {2}push:\n {2}pull_request:\n/m);
      assert.match(text, /^permissions:\n {2}contents: read\n/m);
      assert.doesNotMatch(text, /id-token|contents: write/);
      assert.match(text, /actions\/setup-node@.*\n(?:.*\n)*? {10}cache: npm/);
      if (project.language === 'go')
        assert.match(text, /actions\/setup-go@.*\n {8}with:\n {10}go-version-file: go.mod/);
      else assert.doesNotMatch(text, /setup-go/);
      for (const command of ['npm test', 'npm run build', 'npm run pack', 'npm run dev -- --invokes 3']) {
        assert.match(text, new RegExp(`- run: ${command.replace(/[-.]/g, '\\$&')}\\n`), command);
      }
    }
  });

  it('release: OIDC only in the publish job, write access only in the release job, no AWS keys', async () => {
    const text = await read(projects.goBasic!, '.github/workflows/release.yml');
    assert.match(text, /^on:\n {2}push:\n {4}tags:\n/m);
    assert.match(text, /^permissions: \{\}$/m);
    const jobs = Object.fromEntries(
      text
        .split(/^jobs:\n/m)[1]!
        .split(/^(?= {2}\w+:\n)/m)
        .map((job) => [/^ {2}(\w+):/.exec(job)![1]!, job]),
    );
    assert.deepEqual(Object.keys(jobs), ['pack', 'publish', 'release']);
    assert.match(jobs['pack']!, / {4}permissions:\n {6}contents: read\n(?! {6})/);
    assert.match(jobs['publish']!, / {4}permissions:\n {6}contents: read\n {6}id-token: write\n/);
    assert.match(jobs['release']!, / {4}permissions:\n {6}contents: write\n(?! {6})/);
    assert.match(
      jobs['publish']!,
      /aws-actions\/configure-aws-credentials@[0-9a-f]{40}.*\n(?:.*\n)*? {10}role-to-assume: \$\{\{ vars\.AWS_ROLE_ARN \}\}/,
    );
    assert.match(jobs['publish']!, /matrix: \$\{\{ fromJSON\(needs\.pack\.outputs\.matrix\) \}\}/);
    assert.match(jobs['publish']!, /ext publish --region "\$REGION" --arch "\$ARCHITECTURE"/);
    assert.match(jobs['pack']!, /jq -c '\{region: \.regions, architecture: \.architectures\}' \.github\/publish\.json/);
    assert.match(jobs['release']!, /gh release upload "\$TAG" dist\/\*\.zip dist\/published\.json --clobber/);
    assert.doesNotMatch(text, /aws-access-key-id|aws-secret-access-key|SOURCE_DATE_EPOCH=/);
  });

  it('release: no install script runs beside the OIDC token, and a committed dist/ is never used', async () => {
    for (const project of Object.values(projects)) {
      const text = await read(project, '.github/workflows/release.yml');
      const jobs = text.split(/^jobs:\n/m)[1]!.split(/^(?= {2}\w+:\n)/m);
      for (const job of jobs.filter((job) => /id-token: write/.test(job))) {
        const installs = [...job.matchAll(/^ +- run: (npm (?:ci|install|i)\b.*)$/gm)].map((match) => match[1]!);
        assert.ok(installs.length > 0, 'the token job installs the toolkit');
        for (const install of installs) assert.match(install, /--ignore-scripts/, install);
        assert.doesNotMatch(job, /npm (?:run|test|exec)\b|npx (?!--no -- ext publish)/);
        // dist/ is emptied before the pack job's artifact lands in it, so only its zips and manifest are there.
        const removed = job.indexOf('- run: rm -rf dist\n');
        assert.ok(removed > 0, 'dist/ is removed');
        assert.ok(removed < job.indexOf('actions/download-artifact@'), 'before the download');
      }
    }
  });

  describe('actionlint', { skip: 'skip' in linter ? linter.skip : false }, () => {
    it('passes every generated workflow of the four templates', async () => {
      if ('skip' in linter) return;
      const files = Object.values(projects).flatMap((project) =>
        workflowFiles.map((file) => path.join(project.directory, file)),
      );
      const result = await run(linter.binary, ['-no-color', ...files]);
      assert.equal(result.code, 0, describeRun(result));
    });

    it('fails a deliberately broken workflow', async () => {
      if ('skip' in linter) return;
      const broken = path.join(workspace.path, 'broken', '.github', 'workflows', 'release.yml');
      await mkdir(path.dirname(broken), { recursive: true });
      const text = await read(projects.goBasic!, '.github/workflows/release.yml');
      // A job that reads an output of a job it does not need, and a permission that does not exist.
      await writeFile(
        broken,
        text
          .replace('needs.pack.outputs.matrix', 'needs.packing.outputs.matrix')
          .replace('id-token: write', 'id-tokens: write'),
      );
      const result = await run(linter.binary, ['-no-color', broken]);
      assert.equal(result.code, 1, describeRun(result));
      assert.match(result.stdout, /packing/);
      assert.match(result.stdout, /id-tokens/);
    });
  });

  it('ext add ci github writes what create --ci github wrote, keeps an edited publish.json, replaces workflows only with --force', async () => {
    const project: Project = {
      name: 'ci-later',
      language: 'ts',
      template: 'telemetry',
      architectures: ['arm64'],
      directory: '',
    };
    await create(project, []);
    const created = new Map<string, string>();
    for (const file of [...workflowFiles, '.github/publish.json']) created.set(file, await read(project, file));
    await rm(path.join(project.directory, '.github'), { recursive: true });

    const added = await runExt(['add', 'ci', 'github', '--json', '--cwd', project.directory]);
    assert.equal(added.code, 0, describeRun(added));
    const result = JSON.parse(added.stdout) as { files: string[]; overwritten: string[]; kept: string[] };
    assert.deepEqual(result.files, ['.github/publish.json', ...workflowFiles].sort());
    assert.deepEqual([result.overwritten, result.kept], [[], []]);
    for (const [file, text] of created) assert.equal(await read(project, file), text, file);

    // Again: the workflows are in the way, and nothing changes.
    const publishConfig = path.join(project.directory, '.github', 'publish.json');
    const edited = '{ "regions": ["eu-west-1", "us-west-2"], "architectures": ["arm64"] }\n';
    await writeFile(publishConfig, edited);
    await writeFile(path.join(project.directory, workflowFiles[0]!), 'name: mine\n');
    const refused = await runExt(['add', 'ci', 'github', '--cwd', project.directory]);
    assert.equal(refused.code, 1, describeRun(refused));
    assert.match(
      refused.stderr,
      /^error\[E_ADD_FILES_EXIST\]: \.github\/workflows\/release\.yml, \.github\/workflows\/test\.yml /m,
    );
    assert.match(refused.stderr, /^hint: .*--force/m);
    assert.equal(await read(project, workflowFiles[0]!), 'name: mine\n');

    const forced = await runExt(['add', 'ci', 'github', '--force', '--cwd', project.directory]);
    assert.equal(forced.code, 0, describeRun(forced));
    assert.match(forced.stdout, /test\.yml \(replaced\)/);
    assert.match(forced.stdout, /publish\.json \(already there: kept as it is\)/);
    assert.match(forced.stdout, /AWS_ROLE_ARN/);
    assert.match(forced.stdout, /git tag v0\.1\.0 && git push --tags/, 'the tag of lambda-extension.json’s version');
    assert.equal(await read(project, workflowFiles[0]!), created.get(workflowFiles[0]!));
    assert.equal(await readFile(publishConfig, 'utf8'), edited, 'the regions chosen are the user’s');
    assert.deepEqual(
      await readdir(project.directory).then((entries) => entries.filter((entry) => entry.startsWith('.ext-'))),
      [],
    );

    const unknown = await runExt(['add', 'ci', 'gitlab', '--cwd', project.directory]);
    assert.equal(unknown.code, 2, describeRun(unknown));
    assert.match(unknown.stderr, /^error\[E_ADD_KIND_UNKNOWN\]: <provider>: .*\nhint: .*\n$/);
  });

  it('--ci none generates no workflows, --iac none no infra/', async () => {
    const project: Project = {
      name: 'plain',
      language: 'go',
      template: 'basic',
      architectures: ['x86_64'],
      directory: '',
    };
    await create(project, ['--ci', 'none', '--iac', 'none']);
    assert.ok(!existsSync(path.join(project.directory, '.github')));
    assert.ok(!existsSync(path.join(project.directory, 'infra')));
    assert.doesNotMatch(await read(project, 'README.md'), /Continuous integration|infra\//);
    assert.ok(!existsSync(path.join(projects.tsTelemetry!.directory, 'infra')));
  });

  it('an unknown --ci or --iac is a one-line usage error naming the flag', async () => {
    for (const [flag, value] of [
      ['--ci', 'gitlab'],
      ['--iac', 'pulumi'],
    ] as const) {
      const result = await runCreate(['bad-choice', '--yes', flag, value], { cwd: workspace.path });
      assert.equal(result.code, 2, describeRun(result));
      assert.match(result.stderr, new RegExp(`^error\\[E_ADD_KIND_UNKNOWN\\]: ${flag}: `, 'm'));
      assert.ok(!existsSync(path.join(workspace.path, 'bad-choice')));
    }
  });
});

describe(
  'names that look like other types stay strings in every generated format',
  {
    skip: 'skip' in python ? python.skip : false,
  },
  () => {
    // YAML 1.1 (PyYAML, cfn-lint) reads these unquoted as booleans, null, a date and the number 1.1.
    const names = ['true', 'null', 'yes', 'off', '2024-01-01', '1.10', '1e3', '0x10'];

    /** YAML read as cfn-lint and GitHub read it, CloudFormation's tags kept out of the way. */
    const loadYaml = async (file: string): Promise<unknown> => {
      const script = [
        'import json, sys, yaml',
        "yaml.SafeLoader.add_multi_constructor('!', lambda loader, suffix, node: None)",
        'print(json.dumps(yaml.safe_load(open(sys.argv[1])), default=str))',
      ].join('\n');
      const result = await run((python as { python: string }).python, ['-c', script, file]);
      assert.equal(result.code, 0, describeRun(result));
      return JSON.parse(result.stdout) as unknown;
    };

    it('SAM, Terraform, CDK, the workflows and publish.json keep the name as the same string', async () => {
      if ('skip' in python) return;
      const { addCi, addIac } = await import('../../src/core/infrastructure/index.js');
      const ts = (await import('typescript')).default;
      const lintedTemplates: string[] = [];
      for (const name of names) {
        const directory = path.join(workspace.path, `typed-${name}`);
        await mkdir(directory);
        await writeFile(
          path.join(directory, 'lambda-extension.json'),
          JSON.stringify({ name, language: 'ts', entry: 'src/index.ts', architectures: ['x86_64'], version: '1.0.0' }),
        );
        await addCi({ projectDirectory: directory, provider: 'github' });
        for (const kind of ['sam', 'terraform', 'cdk'] as const) {
          await rm(path.join(directory, 'infra'), { recursive: true, force: true });
          await addIac({ projectDirectory: directory, kind });
          if (kind === 'sam') {
            const sam = (await loadYaml(path.join(directory, 'infra', 'template.yaml'))) as {
              Description: unknown;
              Parameters: { LayerNamePrefix: { Default: unknown } };
              Resources: Record<string, { Properties: Record<string, unknown> }>;
              Outputs: Record<string, { Description: unknown }>;
            };
            assert.equal(sam.Parameters.LayerNamePrefix.Default, name, `${name}: Default`);
            assert.equal(sam.Description, `${name} Lambda extension layer (x86_64)`);
            const layer = sam.Resources['LayerX8664']!.Properties;
            assert.equal(layer['Description'], `${name} Lambda extension (x86_64)`);
            assert.equal(layer['ContentUri'], `../dist/${name}-x86_64.zip`);
            assert.deepEqual(layer['CompatibleArchitectures'], ['x86_64']);
            assert.equal(
              sam.Outputs['LayerX8664Arn']!.Description,
              `Layer version ARN of ${name} for x86_64 functions`,
            );
            if (['true', 'yes', '2024-01-01'].includes(name)) {
              // Kept beside the project (infra/ is replaced by the next kind), then linted together below.
              const kept = path.join(workspace.path, `typed-${name}.template.yaml`);
              await cp(path.join(directory, 'infra', 'template.yaml'), kept);
              lintedTemplates.push(kept);
            }
          } else if (kind === 'terraform') {
            const document = await parseTerraform(python.python, path.join(directory, 'infra', 'main.tf'));
            const variable = document.variable?.find((block) => 'layer_name_prefix' in block)?.['layer_name_prefix'];
            assert.equal(variable?.['default'], name, `${name}: Terraform default`);
          } else {
            const app = await readFile(path.join(directory, 'infra', 'src', 'app.ts'), 'utf8');
            const strings: string[] = [];
            const visit = (node: import('typescript').Node): void => {
              if (ts.isStringLiteral(node)) strings.push(node.text);
              ts.forEachChild(node, visit);
            };
            visit(ts.createSourceFile('app.ts', app, ts.ScriptTarget.Latest, true));
            assert.ok(strings.includes(name), `${name}: CDK app ${JSON.stringify(strings)}`);
            const manifest = JSON.parse(await readFile(path.join(directory, 'infra', 'package.json'), 'utf8')) as {
              description: unknown;
            };
            assert.equal(manifest.description, `AWS CDK app that deploys the ${name} layer`);
          }
        }
        for (const workflow of workflowFiles) {
          const document = (await loadYaml(path.join(directory, workflow))) as Record<string, unknown>;
          assert.ok(typeof document === 'object' && document !== null && 'jobs' in document, workflow);
        }
        const published = JSON.parse(await readFile(path.join(directory, '.github', 'publish.json'), 'utf8')) as {
          architectures: unknown;
        };
        assert.deepEqual(published.architectures, ['x86_64']);
      }
      const linted = await cfnLint(python.python, ...lintedTemplates);
      assert.equal(linted.code, 0, `${lintedTemplates.join(', ')}: ${describeRun(linted)}`);
    });
  },
);

describe('generated SAM template', () => {
  it('has a retained layer version per architecture on the packed zip, a conditional permission and ARN outputs', async () => {
    const text = await read(projects.goBasic!, 'infra/template.yaml');
    for (const [id, architecture] of [
      ['X8664', 'x86_64'],
      ['Arm64', 'arm64'],
    ]) {
      assert.match(
        text,
        new RegExp(
          ` {2}Layer${id}:\\n {4}Type: AWS::Serverless::LayerVersion\\n(?:.*\\n)*? {6}ContentUri: "\\.\\./dist/go-basic-${architecture}\\.zip"\\n {6}CompatibleArchitectures:\\n {8}- "${architecture}"\\n(?:.*\\n)*? {6}RetentionPolicy: Retain\\n`,
        ),
      );
      assert.match(
        text,
        new RegExp(
          ` {2}Layer${id}Permission:\\n {4}Type: AWS::Lambda::LayerVersionPermission\\n {4}Condition: ShareLayers\\n`,
        ),
      );
      assert.match(
        text,
        new RegExp(`Architectures:\\n {8}- "${architecture}"\\n(?:.*\\n)*? {6}Layers:\\n {8}- !Ref Layer${id}\\n`),
      );
      assert.match(text, new RegExp(` {2}Layer${id}Arn:\\n(?:.*\\n)*? {4}Value: !Ref Layer${id}\\n`));
    }
    assert.match(await read(projects.goBasic!, 'README.md'), /sam deploy --template-file infra\/template\.yaml/);
  });

  describe('cfn-lint', { skip: 'skip' in python ? python.skip : false }, () => {
    it('passes for x86_64 and arm64, x86_64 alone and arm64 alone', async () => {
      if ('skip' in python) return;
      const x86 = {
        name: 'sam-x86',
        language: 'ts',
        template: 'basic',
        architectures: ['x86_64'],
        directory: '',
      } as Project;
      await create(x86, ['--ci', 'none', '--iac', 'sam']);
      // arm64 alone: added later to the Terraform project, whose infra/README.md is in the way until --force.
      const arm = projects.goTelemetry!;
      const refused = await runExt(['add', 'iac', 'sam', '--cwd', arm.directory]);
      assert.equal(refused.code, 1, describeRun(refused));
      assert.match(refused.stderr, /^error\[E_ADD_FILES_EXIST\]: infra\/README\.md /m);
      assert.match(refused.stderr, /^hint: .*--force/m);
      assert.ok(!existsSync(path.join(arm.directory, 'infra', 'template.yaml')));
      const forced = await runExt(['add', 'iac', 'sam', '--force', '--json', '--cwd', arm.directory]);
      assert.equal(forced.code, 0, describeRun(forced));
      assert.deepEqual((JSON.parse(forced.stdout) as { overwritten: string[] }).overwritten, ['infra/README.md']);
      assert.ok(existsSync(path.join(arm.directory, 'infra', 'main.tf')), 'files of another kind are kept');
      assert.deepEqual(
        await readdir(arm.directory).then((entries) => entries.filter((entry) => entry.startsWith('.ext-'))),
        [],
      );

      const templates: string[] = [];
      for (const project of [projects.goBasic!, x86, arm]) {
        const template = path.join(project.directory, 'infra', 'template.yaml');
        const text = await readFile(template, 'utf8');
        for (const architecture of ['x86_64', 'arm64']) {
          assert.equal(
            text.includes(`- "${architecture}"\n`),
            project.architectures.includes(architecture),
            architecture,
          );
        }
        templates.push(template);
      }
      const result = await cfnLint(python.python, ...templates);
      assert.equal(result.code, 0, `${templates.join(', ')}\n${describeRun(result)}`);
    });

    it('fails a deliberately broken template', async () => {
      if ('skip' in python) return;
      const broken = path.join(workspace.path, 'broken-template.yaml');
      const text = await read(projects.goBasic!, 'infra/template.yaml');
      // A misspelt property and a reference to a parameter that does not exist.
      await writeFile(
        broken,
        text.replaceAll('ContentUri:', 'ContentUrl:').replaceAll('!Ref SharedWith\n', '!Ref SharedWithAccount\n'),
      );
      const result = await cfnLint(python.python, broken);
      assert.notEqual(result.code, 0, describeRun(result));
      assert.match(result.stdout, /'ContentUrl' was unexpected/);
      assert.match(result.stdout, /'SharedWithAccount' is not one of/);
    });
  });
});

describe('generated Terraform', { skip: 'skip' in python ? python.skip : false }, () => {
  const check = async (project: Project) => {
    if ('skip' in python) return;
    const document = await parseTerraform(python.python, path.join(project.directory, 'infra', 'main.tf'));
    const resources = terraformBlocks(document.resource);
    const layers = [...resources.keys()].filter((key) => key.startsWith('aws_lambda_layer_version.'));
    assert.deepEqual(
      layers.sort(),
      project.architectures.map((architecture) => `aws_lambda_layer_version.${architecture}`).sort(),
    );
    for (const architecture of project.architectures) {
      const layer = resources.get(`aws_lambda_layer_version.${architecture}`)!;
      const zip = `\${local.dist}/${project.name}-${architecture}.zip`;
      assert.equal(layer['filename'], zip);
      assert.equal(layer['source_code_hash'], `\${filebase64sha256("${zip}")}`);
      assert.deepEqual(layer['compatible_architectures'], [architecture]);
      assert.equal(layer['skip_destroy'], true);
      const permission = resources.get(`aws_lambda_layer_version_permission.${architecture}`)!;
      assert.equal(permission['layer_name'], `\${aws_lambda_layer_version.${architecture}.layer_arn}`);
      assert.equal(permission['action'], 'lambda:GetLayerVersion');
      const example = resources.get(`aws_lambda_function.example_${architecture}`)!;
      assert.deepEqual(example['architectures'], [architecture]);
      assert.deepEqual(example['layers'], [`\${aws_lambda_layer_version.${architecture}.arn}`]);
    }
    assert.ok(document.output?.some((output) => 'layer_version_arns' in output));
  };

  it('parses with python-hcl2 and has a layer version per architecture (arm64 only)', () =>
    check(projects.goTelemetry!));

  it('ext add iac terraform gives both architectures to a project that has both', async () => {
    const project = projects.tsTelemetry!;
    const added = await runExt(['add', 'iac', 'terraform', '--cwd', project.directory]);
    assert.equal(added.code, 0, describeRun(added));
    assert.match(added.stdout, /terraform -chdir=infra apply/);
    await check(project);
  });

  it('a file python-hcl2 cannot parse is reported', async () => {
    if ('skip' in python) return;
    const broken = path.join(workspace.path, 'broken.tf');
    await writeFile(
      broken,
      (await read(projects.goTelemetry!, 'infra/main.tf')).replace('skip_destroy = true\n}', 'skip_destroy = true\n'),
    );
    await assert.rejects(parseTerraform(python.python, broken), /cannot parse/);
  });
});

describe('generated CDK app', { skip: 'skip' in cdk ? cdk.skip : false }, () => {
  /** Type-checks and compiles the app once (the synth test runs the compiled app). */
  let compiled: Promise<string> | undefined;
  const compile = (nodeModules: string): Promise<string> =>
    (compiled ??= (async () => {
      const infra = path.join(projects.tsBasic!.directory, 'infra');
      await symlink(nodeModules, path.join(infra, 'node_modules'));
      const result = await run(path.join(nodeModules, '.bin', 'tsc'), ['-p', infra], { timeoutMs: 300_000 });
      assert.equal(result.code, 0, describeRun(result));
      return infra;
    })());

  it('compiles with tsc against aws-cdk-lib, the version it depends on', { timeout: scaled(600_000) }, async () => {
    if ('skip' in cdk) return;
    const infra = path.join(projects.tsBasic!.directory, 'infra');
    const manifest = JSON.parse(await readFile(path.join(infra, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    assert.equal(
      manifest.dependencies['aws-cdk-lib'],
      `^${JSON.parse(await readFile(path.join(cdk.nodeModules, 'aws-cdk-lib', 'package.json'), 'utf8')).version}`,
    );
    await compile(cdk.nodeModules);
  });

  it(
    'synthesizes offline with cdk synth: one retained layer version, its permission and the example function',
    // cdk synth alone takes about two minutes; the app's types are checked by tsc above, on every npm test.
    { timeout: scaled(600_000), skip: onlyInTestAll('cdk synth takes minutes') },
    async () => {
      if ('skip' in cdk) return;
      const project = projects.tsBasic!;
      const infra = await compile(cdk.nodeModules);
      // Synthesis stages the zip as an asset; its bytes do not matter here.
      await mkdir(path.join(project.directory, 'dist'), { recursive: true });
      await writeFile(path.join(project.directory, 'dist', 'ts-basic-x86_64.zip'), 'PK\x05\x06' + '\0'.repeat(18));
      const synth = await run(
        path.join(cdk.nodeModules, '.bin', 'cdk'),
        [
          'synth',
          '--json',
          '--no-notices',
          '--no-version-reporting',
          '-c',
          'exampleFunction=true',
          '-c',
          'sharedWith=111122223333',
        ],
        { cwd: infra, timeoutMs: 300_000, env: { CDK_DISABLE_CLI_TELEMETRY: 'true' } },
      );
      assert.equal(synth.code, 0, describeRun(synth));
      const template = JSON.parse(synth.stdout) as {
        Resources: Record<string, { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string }>;
      };
      const ofType = (type: string) => Object.values(template.Resources).filter((resource) => resource.Type === type);
      const layers = ofType('AWS::Lambda::LayerVersion');
      assert.equal(layers.length, 1);
      assert.deepEqual(layers[0]!.Properties['CompatibleArchitectures'], ['x86_64']);
      assert.equal(layers[0]!.Properties['LayerName'], 'ts-basic-x86_64');
      assert.equal(layers[0]!.DeletionPolicy, 'Retain');
      assert.equal(ofType('AWS::Lambda::LayerVersionPermission').length, 1);
      const functions = ofType('AWS::Lambda::Function');
      assert.equal(functions.length, 1);
      assert.deepEqual(functions[0]!.Properties['Architectures'], ['x86_64']);
      assert.equal((functions[0]!.Properties['Layers'] as unknown[]).length, 1);
    },
  );

  it(
    'a Go project with the CDK app keeps go vet ./... out of infra/node_modules',
    { timeout: scaled(300_000) },
    async (t) => {
      const project: Project = {
        name: 'go-cdk',
        language: 'go',
        template: 'basic',
        architectures: ['arm64'],
        directory: '',
      };
      await create(project, ['--ci', 'none', '--iac', 'cdk']);
      const go = await run('go', ['version']).catch(() => undefined);
      if (go?.code !== 0) return t.skip('go is not on PATH');
      // aws-cdk ships Go templates that do not compile; npm install puts them here.
      const stray = path.join(project.directory, 'infra', 'node_modules', 'aws-cdk', 'init', 'app.go');
      await mkdir(path.dirname(stray), { recursive: true });
      await writeFile(stray, 'package %name%\n');
      const vet = await run('go', ['vet', './...'], { cwd: project.directory, timeoutMs: 240_000 });
      assert.equal(vet.code, 0, describeRun(vet));
      assert.ok(
        !existsSync(path.join(projects.tsBasic!.directory, 'infra', 'go.mod')),
        'TypeScript projects get no go.mod',
      );
    },
  );
});

import type { Argv, CommandModule } from 'yargs';
import { CliError, usageError } from '../../core/errors.js';
import { formatBytes } from '../../core/format.js';
import type { LayerAudience, PublishOptions, PublishProgress, PublishResult } from '../../core/publish/index.js';
import { printableLine } from '../../core/text.js';
import { architectureOption, architecturesFlag, outOption, projectOptions } from '../options.js';
import { bold, dim, green, red, showsProgress, yellow } from '../terminal.js';

interface PublishArguments {
  region?: string[];
  arch?: string;
  'layer-name'?: string;
  public?: boolean;
  principal?: string[];
  organization?: string;
  's3-bucket'?: string;
  'compatible-runtimes'?: string[];
  description?: string;
  'license-info'?: string;
  force?: boolean;
  'dry-run'?: boolean;
  'endpoint-url'?: string;
  out: string;
  cwd: string;
  json?: boolean;
}

export const publishCommand: CommandModule<object, PublishArguments> = {
  command: 'publish',
  describe: 'Publish the packed zips as Lambda layer versions, per architecture and region, skipping unchanged ones',
  builder: (yargs: Argv) =>
    yargs
      .options({ arch: architectureOption, out: outOption, ...projectOptions })
      .options({
        region: {
          type: 'string',
          array: true,
          describe: 'Regions to publish to (comma-separated or repeated)',
          defaultDescription: 'AWS_REGION or the profile region',
        },
        'layer-name': {
          type: 'string',
          describe: 'Layer name; {name} and {arch} are replaced',
          default: '{name}-{arch}',
        },
        public: { type: 'boolean', describe: 'Let every AWS account use the layer versions' },
        principal: { type: 'string', array: true, describe: 'Let these 12-digit AWS accounts use them' },
        organization: { type: 'string', describe: 'Let every account of this organization (o-…) use them' },
        's3-bucket': {
          type: 'string',
          describe: 'Bucket for zips over 50 MB, in the layer region; {region} is replaced',
        },
        'compatible-runtimes': { type: 'string', array: true, describe: 'e.g. nodejs22.x,provided.al2023' },
        description: { type: 'string', describe: "Layer version description; the extension's version is appended" },
        'license-info': { type: 'string', describe: 'SPDX identifier, URL or short license text' },
        force: { type: 'boolean', describe: 'Publish even when the latest version has the same bytes' },
        'dry-run': { type: 'boolean', describe: 'Call only read APIs and print what would be done' },
        'endpoint-url': { type: 'string', describe: 'Send AWS calls to this URL (an emulator, a VPC endpoint)' },
      })
      .conflicts('public', ['principal', 'organization'])
      .conflicts('principal', 'organization')
      .example('$0 publish --region us-east-1,eu-west-1 --public', 'both architectures to two regions, usable by all')
      .example('$0 publish --principal 111122223333 --dry-run', 'show what would be published and granted')
      .example(
        '$0 publish --s3-bucket my-layers-{region} --json',
        'large zips staged in a bucket per region; JSON out',
      ),
  handler: async (argv) => {
    const options = publishOptions(argv);
    const { publish } = await import('../../core/publish/index.js');
    const result = await publish(options);
    printPublishResult(result, argv.json === true);
    if (result.failed > 0) {
      const which = result.targets.filter((target) => target.status === 'failed');
      throw new CliError(
        `${result.failed} of ${result.targets.length} layer versions failed: ${which.map((target) => `${target.region} ${target.architecture}`).join(', ')}`,
        { hint: 'fix the errors above and run ext publish again; what succeeded is skipped next time' },
      );
    }
  },
};

function publishOptions(argv: PublishArguments): PublishOptions {
  const architectures = architecturesFlag(argv.arch);
  const list = (values: string[] | undefined): string[] | undefined =>
    values
      ?.flatMap((value) => String(value).split(','))
      .map((value) => value.trim())
      .filter((value) => value !== '');
  const audience: LayerAudience | undefined =
    argv.public === true
      ? { kind: 'public' }
      : argv.principal !== undefined
        ? { kind: 'accounts', accounts: list(argv.principal) ?? [] }
        : argv.organization !== undefined
          ? { kind: 'organization', organizationId: argv.organization }
          : undefined;
  if (argv['endpoint-url'] !== undefined && !/^https?:\/\/[^\s]+$/.test(argv['endpoint-url'])) {
    throw usageError(
      `--endpoint-url: "${argv['endpoint-url']}" is not an http(s) URL`,
      'pass e.g. --endpoint-url http://127.0.0.1:5000',
    );
  }
  const runtimes = list(argv['compatible-runtimes']);
  return {
    projectDirectory: argv.cwd,
    outDirectory: argv.out,
    layerName: argv['layer-name'] ?? '{name}-{arch}',
    force: argv.force === true,
    dryRun: argv['dry-run'] === true,
    ...(argv.region === undefined ? {} : { regions: list(argv.region) ?? [] }),
    ...(architectures === undefined ? {} : { architectures }),
    ...(audience === undefined ? {} : { audience }),
    ...(argv['s3-bucket'] === undefined ? {} : { s3Bucket: argv['s3-bucket'] }),
    ...(runtimes === undefined ? {} : { compatibleRuntimes: runtimes }),
    ...(argv.description === undefined ? {} : { description: argv.description }),
    ...(argv['license-info'] === undefined ? {} : { licenseInfo: argv['license-info'] }),
    ...(argv['endpoint-url'] === undefined ? {} : { endpointUrl: argv['endpoint-url'] }),
    ...(showsProgress(argv.json) ? { onProgress: printProgress } : {}),
  };
}

function printProgress(event: PublishProgress): void {
  const what: Record<PublishProgress['phase'], string> = {
    check: 'checking',
    upload: 'uploading to S3',
    publish: 'publishing',
    grant: 'granting',
    done: 'done',
    failed: 'failed',
  };
  process.stderr.write(dim(`${what[event.phase]} ${event.region} ${event.architecture}\n`));
}

export function printPublishResult(result: PublishResult, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(result.map, null, 2)}\n`);
    return;
  }
  const paint = (status: string): string =>
    status === 'failed'
      ? red(status)
      : status === 'published'
        ? green(status)
        : status === 'skipped'
          ? status
          : yellow(status);
  const header = ['region', 'arch', 'status', 'version', 'size', 'layer version ARN'];
  const rows = result.targets.map((target) => [
    target.region,
    target.architecture,
    target.status,
    target.version === undefined ? '' : String(target.version),
    formatBytes(target.bytes),
    target.arn === undefined ? (target.status === 'would-publish' ? '(new version)' : '') : printableLine(target.arn),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[], statusPaint: (text: string) => string = (text) => text): string =>
    cells
      .map((cell, column) => (column === 2 ? statusPaint(cell.padEnd(widths[column]!)) : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  const lines = [
    `${bold(`${result.name} ${result.version}`)} ${result.dryRun ? 'dry run, nothing changed: ' : ''}${summary(result)}`,
    '',
    bold(line(header)),
    ...rows.map((row) => line(row, () => paint(row[2]!).padEnd(widths[2]! + (paint(row[2]!).length - row[2]!.length)))),
  ];
  const details = result.targets.flatMap((target) => [
    ...(target.s3Uri === undefined ? [] : [`${target.region} ${target.architecture}: zip staged at ${target.s3Uri}`]),
    ...(target.grants.length === 0
      ? []
      : [
          `${target.region} ${target.architecture}: ${result.dryRun ? 'would grant' : 'granted'} ${target.grants.join(', ')}`,
        ]),
    ...(target.error === undefined
      ? []
      : [
          `${red('error')} ${target.region} ${target.architecture}: ${printableLine(target.error, 1000)}`,
          ...(target.hint === undefined ? [] : [`  hint: ${printableLine(target.hint, 1000)}`]),
        ]),
  ]);
  if (details.length > 0) lines.push('', ...details);
  if (result.publishedFile !== undefined) lines.push('', `map: ${result.publishedFile}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

function summary(result: PublishResult): string {
  const counts = new Map<string, number>();
  for (const target of result.targets) counts.set(target.status, (counts.get(target.status) ?? 0) + 1);
  return [...counts].map(([status, count]) => `${count} ${status}`).join(', ');
}

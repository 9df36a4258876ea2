import type { Argv, CommandModule } from 'yargs';
import { CliError, usageError } from '../../core/errors.js';
// layer/limits, which imports nothing: the flags' help loads with every ext command.
import { zippedLimitText } from '../../core/layer/limits.js';
import type { LayerAudience, PublishOptions, PublishProgress } from '../../core/publish/index.js';
import { architectureOption, architecturesFlag, outOption, projectOptions } from '../options.js';
import { showsProgress } from '../terminal.js';

export interface PublishArguments {
  region?: string[] | undefined;
  arch?: string | undefined;
  'layer-name'?: string | undefined;
  public?: boolean | undefined;
  principal?: string[] | undefined;
  organization?: string | undefined;
  's3-bucket'?: string | undefined;
  'compatible-runtimes'?: string[] | undefined;
  description?: string | undefined;
  'license-info'?: string | undefined;
  force?: boolean | undefined;
  'dry-run'?: boolean | undefined;
  'allow-stale'?: boolean | undefined;
  'endpoint-url'?: string | undefined;
  out: string;
  cwd: string;
  json?: boolean | undefined;
}

export const publishCommand: CommandModule<object, PublishArguments> = {
  command: 'publish',
  describe: 'Publish the packed zips as Lambda layer versions, per architecture and region, skipping unchanged ones',
  builder: (yargs: Argv) =>
    yargs
      .options({
        arch: { ...architectureOption, defaultDescription: 'every architecture in the manifest' },
        out: outOption,
        ...projectOptions,
      })
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
          describe: `Bucket for zips over ${zippedLimitText}, in the layer region; {region} is replaced`,
        },
        'compatible-runtimes': {
          type: 'string',
          array: true,
          describe:
            'Runtimes the layer declares, e.g. nodejs22.x,provided.al2023 (default: none, or for a standalone layer the AL2023 runtimes dist/manifest.json lists)',
        },
        description: { type: 'string', describe: "Layer version description; the extension's version is appended" },
        'license-info': { type: 'string', describe: 'SPDX identifier, URL or short license text' },
        force: { type: 'boolean', describe: 'Publish even when the latest version has the same bytes' },
        'dry-run': { type: 'boolean', describe: 'Call only read APIs and print what would be done' },
        'allow-stale': {
          type: 'boolean',
          describe: 'Publish the zips even though the sources changed after ext pack made them',
        },
        'endpoint-url': { type: 'string', describe: 'Send AWS calls to this URL (an emulator, a VPC endpoint)' },
      })
      .conflicts('public', ['principal', 'organization'])
      .conflicts('principal', 'organization')
      .example('$0 publish --region us-east-1,eu-west-1 --public', 'Both architectures to two regions, usable by all')
      .example('$0 publish --principal 111122223333 --dry-run', 'Show what would be published and granted')
      .example(
        '$0 publish --s3-bucket my-layers-{region} --json',
        'Large zips staged in a bucket per region; JSON out',
      ),
  handler: async (argv) => {
    // Turning the result into text is only needed once something ran: loaded here, not for --help.
    const { printPublishProgress, printPublishResult } = await import('../publish-report.js');
    const options = publishOptions(argv, printPublishProgress);
    const { publish } = await import('../../core/publish/index.js');
    const result = await publish(options);
    printPublishResult(result, argv.json === true);
    if (result.failed > 0) {
      const which = result.targets.filter((target) => target.status === 'failed');
      throw new CliError(
        `${result.failed} of ${result.targets.length} layer versions failed: ${which.map((target) => `${target.region} ${target.architecture}`).join(', ')}`,
        {
          code: 'E_PUBLISH_TARGETS_FAILED',
          hint: "fix each failed target's error and run ext publish again; what succeeded is skipped then",
        },
      );
    }
  },
};

/** `ext publish`'s flags as the core's options object. */
function publishOptions(argv: PublishArguments, printProgress: (event: PublishProgress) => void): PublishOptions {
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
      'E_PUBLISH_ENDPOINT_URL_INVALID',
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
    allowStale: argv['allow-stale'] === true,
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

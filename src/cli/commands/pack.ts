import type { Argv, CommandModule } from 'yargs';
import { formatBytes } from '../../core/format.js';
// layer/limits, which imports nothing: the flags' help loads with every ext command.
import { unzippedLimitBytes, unzippedLimitText, zippedLimitBytes, zippedLimitText } from '../../core/layer/limits.js';
import type { PackProgressEvent, PackResult } from '../../core/pack/index.js';
import {
  architectureOption,
  architecturesFlag,
  configOverrideOptions,
  configOverrides,
  outOption,
  projectOptions,
  typecheckFlag,
  typecheckOption,
  type ConfigOverrideArguments,
} from '../options.js';
import { withInterruption } from '../run.js';
import { bold, dim, showsProgress, yellow } from '../terminal.js';

interface PackArguments extends ConfigOverrideArguments {
  arch?: string | undefined;
  build: boolean;
  out: string;
  cwd: string;
  json?: boolean | undefined;
  typecheck?: boolean | undefined;
}

export const packCommand: CommandModule<object, PackArguments> = {
  command: 'pack',
  describe: 'Build, then zip each architecture into a reproducible, verified layer zip',
  builder: (yargs: Argv) =>
    yargs
      .options({
        arch: architectureOption,
        out: outOption,
        ...configOverrideOptions,
        ...typecheckOption,
        ...projectOptions,
      })
      .option('build', {
        type: 'boolean',
        default: true,
        describe: 'Run ext build first; --no-build zips what <out>/<arch>/ already holds',
      })
      .example('$0 pack', 'Build and zip every configured architecture into dist/<name>-<arch>.zip')
      .example('$0 pack --arch arm64 --no-build', 'Zip the arm64 layer that ext build already made')
      .example(
        'SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) $0 pack --json',
        'Stamp entries with the last commit time; print JSON',
      ),
  handler: async (argv) => {
    const architectures = architecturesFlag(argv.arch);
    const { pack } = await import('../../core/pack/index.js');
    const result = await withInterruption((signal) =>
      pack({
        ...configOverrides(argv),
        projectDirectory: argv.cwd,
        outDirectory: argv.out,
        noBuild: !argv.build,
        typecheck: typecheckFlag(argv.typecheck),
        signal,
        onOutput: (chunk) => process.stderr.write(chunk),
        ...(architectures === undefined ? {} : { architectures }),
        ...(showsProgress(argv.json) ? { onProgress: printProgress } : {}),
      }),
    );
    printPackResult(result, argv.json === true);
  },
};

function printProgress(event: PackProgressEvent): void {
  const what: Record<PackProgressEvent['phase'], string> = {
    build: 'building',
    zip: 'zipping',
    verify: 'verifying',
    done: 'done',
  };
  process.stderr.write(dim(`${what[event.phase]} ${event.architecture}\n`));
}

function headroom(bytes: number, limit: number): string {
  return `${formatBytes(Math.max(0, limit - bytes))} (${Math.floor(((limit - bytes) / limit) * 100)}%)`;
}

export function printPackResult(result: PackResult, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  // The same warning usually holds for every architecture: say it once.
  const warnings = new Map<string, { text: string; architectures: string[] }>();
  for (const layer of result.layers) {
    for (const warning of layer.warnings) {
      const text = `${warning.path === undefined ? '' : `${warning.path}: `}${warning.message} [${warning.code}]`;
      const seen = warnings.get(text) ?? { text, architectures: [] };
      seen.architectures.push(layer.architecture);
      warnings.set(text, seen);
    }
  }
  for (const { text, architectures } of warnings.values()) {
    process.stderr.write(`${yellow('warning')} (${architectures.join(', ')}) ${text}\n`);
  }
  for (const note of result.notes) process.stderr.write(`${dim('note')} ${note}\n`);
  const header = [
    'arch',
    'zip',
    'zipped',
    'unzipped',
    'files',
    `headroom (${zippedLimitText} zip)`,
    `headroom (${unzippedLimitText} unzipped)`,
  ];
  const rows = result.layers.map((layer) => [
    layer.architecture,
    layer.zip,
    formatBytes(layer.zippedBytes),
    formatBytes(layer.unzippedBytes),
    String(layer.files),
    headroom(layer.zippedBytes, zippedLimitBytes),
    headroom(layer.unzippedBytes, unzippedLimitBytes),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd();
  const archWidth = widths[0]!;
  const lines = [
    `${bold(`${result.name} ${result.version}`)} packed, entries dated ${result.timestamp}`,
    '',
    bold(line(header)),
    ...rows.map(line),
    dim(`the ${unzippedLimitText} unzipped limit is shared by the function and all its layers`),
    '',
    // Full hashes do not fit in the table; CodeSha256 is what `aws lambda get-layer-version` reports, to compare.
    bold('checksums') + dim(" (CodeSha256 is Lambda's: base64 of the sha256)"),
    ...result.layers.flatMap((layer) => [
      `${layer.architecture.padEnd(archWidth)}  sha256      ${layer.sha256}`,
      `${''.padEnd(archWidth)}  CodeSha256  ${layer.codeSha256}`,
    ]),
    '',
    `manifest: ${result.manifest}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

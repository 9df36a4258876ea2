import type { CommandModule } from 'yargs';
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
import { build } from '../../core/build/index.js';
import { buildProgressPrinter } from '../progress.js';
import { printBuildResult } from '../report.js';
import { withInterruption } from '../run.js';
import { showsProgress } from '../terminal.js';

interface BuildArguments extends ConfigOverrideArguments {
  arch?: string | undefined;
  out: string;
  cwd: string;
  json?: boolean | undefined;
  typecheck?: boolean | undefined;
}

export const buildCommand: CommandModule<object, BuildArguments> = {
  command: 'build',
  describe: 'Cross-compile (Go) or bundle (TypeScript) into dist/<arch>/, the tree Lambda unpacks to /opt',
  builder: (yargs) =>
    yargs
      .options({
        arch: architectureOption,
        out: outOption,
        ...configOverrideOptions,
        ...typecheckOption,
        ...projectOptions,
      })
      .example('$0 build', 'Every architecture in lambda-extension.json')
      .example('$0 build --arch arm64 --json', 'Arm64 only, list the files built as JSON')
      .example('$0 build --no-typecheck', 'Bundle without running tsc (TypeScript)')
      .example('$0 build --extension-version "$(git describe --tags)"', 'Stamp the version from git')
      .example(
        '$0 build --standalone --node-version 24',
        'TypeScript: bundle node 24 so the layer runs beside any AL2023 runtime',
      ),
  handler: async (args) => {
    const architectures = architecturesFlag(args.arch);
    const result = await withInterruption((signal) =>
      build({
        ...configOverrides(args),
        projectDirectory: args.cwd,
        architectures,
        outDirectory: args.out,
        typecheck: typecheckFlag(args.typecheck),
        onProgress: showsProgress(args.json) ? buildProgressPrinter() : undefined,
        onOutput: (chunk) => process.stderr.write(chunk),
        signal,
      }),
    );
    printBuildResult(result, args.json === true);
  },
};

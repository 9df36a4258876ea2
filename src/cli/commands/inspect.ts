import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { CliError } from '../../core/errors.js';
import type { InspectReport } from '../../core/inspect/index.js';
import { printableLine } from '../../core/text.js';
import { bold, dim, green, red, yellow } from '../terminal.js';
import { architecturesFlag } from '../options.js';
import { reportError } from '../run.js';

interface InspectArguments {
  zip: string[] | undefined;
  arch?: string | undefined;
  json: boolean;
}

export const inspectCommand: CommandModule<object, InspectArguments> = {
  command: 'inspect [zip..]',
  describe: 'Check any layer zip for what breaks extensions on Lambda (layout, exec bits, ELF arch, CRLF, sizes)',
  builder: (yargs: Argv) =>
    yargs
      .positional('zip', {
        type: 'string',
        array: true,
        describe:
          'The layer zips to check; with several, --json prints an array of reports (default: every zip ext pack makes for this project)',
      })
      .option('arch', {
        type: 'string',
        choices: ['x86_64', 'arm64'],
        describe: 'Target architecture (default: from the file name, else the first ELF binary)',
      })
      .option('json', { type: 'boolean', default: false, describe: 'Print the report as one JSON document' })
      .example('$0 inspect', "In a project: check every architecture's zip that ext pack made")
      .example('$0 inspect dist/my-extension-arm64.zip', 'Check a zip made by ext pack')
      .example('$0 inspect dist/*.zip', 'Check every zip, one report each')
      .example(
        '$0 inspect downloaded-layer.zip --arch x86_64 --json',
        'Check a published layer for an x86_64 function',
      ),
  handler: async (argv) => {
    const architectures = architecturesFlag(argv.arch);
    const { inspect } = await import('../../core/inspect/index.js');
    if (argv.zip === undefined || argv.zip.length === 0) {
      const { projectZips } = await import('../../core/pack/index.js');
      const project = await projectZips(process.cwd());
      for (const warning of project.warnings) process.stderr.write(`${yellow('warning:')} ${warning}\n`);
      argv.zip = project.zips.map((zip) => path.relative(process.cwd(), zip));
    }
    const reports: InspectReport[] = [];
    const failed: string[] = [];
    for (const zip of argv.zip) {
      try {
        reports.push(await inspect(zip, architectures === undefined ? {} : { architecture: architectures[0]! }));
      } catch (error) {
        // One zip is the whole answer; of several, an unreadable one must not hide the others' reports.
        if (argv.zip.length === 1) throw error;
        reportError(error);
        failed.push(zip);
        continue;
      }
      const report = reports.at(-1)!;
      if (!argv.json) process.stdout.write(`${reports.length > 1 ? '\n' : ''}${formatReport(report)}`);
      if (!report.ok) failed.push(zip);
    }
    // One zip: the report itself, as always; several: an array of reports, in the order given.
    if (argv.json) process.stdout.write(`${JSON.stringify(argv.zip.length === 1 ? reports[0] : reports, null, 2)}\n`);
    if (argv.zip.length === 1 && failed.length === 1) {
      const report = reports[0]!;
      throw new CliError(
        `${argv.zip[0]} will not work as an extension layer: ${count(report.errors, 'error')}, ${count(report.warnings, 'warning')}`,
        { code: 'E_INSPECT_LAYER_BROKEN', hint: 'fix the findings above; ext pack writes zips that pass these checks' },
      );
    }
    if (failed.length > 0) {
      throw new CliError(
        `${failed.length} of ${argv.zip.length} zips will not work as extension layers: ${failed.map(safe).join(', ')}`,
        { code: 'E_INSPECT_LAYER_BROKEN', hint: 'fix the findings above; ext pack writes zips that pass these checks' },
      );
    }
  },
};

function count(value: number, noun: string, plural = `${noun}s`): string {
  return `${value} ${value === 1 ? noun : plural}`;
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/**
 * Entry names, link targets and script excerpts come from the zip: each is
 * printed as one escaped line, so none can move the cursor, repaint a line
 * (a bare CR) or add a fake one. The JSON report keeps the raw strings.
 */
const safe = (text: string): string => printableLine(text, 2000);

export function formatReport(report: InspectReport): string {
  const lines = [bold(safe(report.zipPath))];
  lines.push(
    // entries = files + folders; folders without an entry of their own are counted apart.
    `  ${count(report.entries, 'entry', 'entries')} (${count(report.files, 'file')}, ${count(report.directories, 'folder')}${report.impliedDirectories === 0 ? '' : `; ${count(report.impliedDirectories, 'folder')} only implied by paths`}), ${size(report.zippedBytes)} zipped, ${size(report.unzippedBytes)} unzipped`,
  );
  lines.push(
    `  architecture: ${report.architecture === undefined ? 'unknown (no --arch, no arch in the file name, no ELF binary)' : `${report.architecture} (from ${report.architectureSource === 'option' ? '--arch' : `the ${report.architectureSource}`})`}`,
  );
  for (const extension of report.extensions) {
    const details = [
      extension.kind === 'elf'
        ? extension.interpreter === undefined
          ? 'static ELF'
          : `dynamic ELF, ${safe(extension.interpreter)}`
        : extension.kind,
    ];
    if (extension.kind === 'script' && extension.interpreter !== undefined)
      details.push(`#!${safe(extension.interpreter)}`);
    if (extension.targets !== undefined) details.push(safe(`runs /opt/${extension.targets.join(', /opt/')}`));
    if (extension.bundledNode !== undefined)
      details.push(safe(`standalone: its own node at /opt/${extension.bundledNode}, no runtime node needed`));
    lines.push(`  extension: ${safe(extension.name)} (${details.join('; ')})`);
  }
  for (const wrapper of report.wrappers) {
    const interpreter = wrapper.interpreter === undefined ? '' : `; #!${safe(wrapper.interpreter)}`;
    lines.push(`  wrapper: /opt/${safe(wrapper.path)} (${wrapper.kind}${interpreter}; for AWS_LAMBDA_EXEC_WRAPPER)`);
  }
  lines.push('');
  const ordered = [...report.findings].sort(
    (a, b) => Number(a.severity === 'warning') - Number(b.severity === 'warning'),
  );
  for (const finding of ordered) {
    const label = finding.severity === 'error' ? red('error  ') : yellow('warning');
    lines.push(
      `${label} ${finding.path === undefined ? '' : `${safe(finding.path)}: `}${safe(finding.message)} ${dim(`[${finding.code}]`)}`,
    );
  }
  if (report.findings.length === 0) lines.push(green('no problems found'));
  else if (report.ok) lines.push(green(`no errors (${count(report.warnings, 'warning')})`));
  return `${lines.join('\n')}\n`;
}

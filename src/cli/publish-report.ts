import { formatBytes } from '../core/format.js';
import type { PublishProgress, PublishResult } from '../core/publish/index.js';
import { printableLine } from '../core/text.js';
import { bold, dim, green, red, yellow } from './terminal.js';

/** One line per step of ext publish, on stderr (shown only on a terminal, not with --json). */
export function printPublishProgress(event: PublishProgress): void {
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
    // The manifest's name and version are the project's text, not ours: printed escaped.
    `${bold(`${printableLine(result.name, 200)} ${printableLine(result.version, 200)}`)} ${result.dryRun ? 'dry run, nothing changed: ' : ''}${summary(result)}`,
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
          `${red(target.code === undefined ? 'error' : `error[${target.code}]`)} ${target.region} ${target.architecture}: ${printableLine(target.error, 1000)}`,
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

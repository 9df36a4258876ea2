/* ext pack's checks: that there is a layer to zip, and that the zip it wrote is one it may keep. */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { CliError } from '../errors.js';
import { inspectZipBuffer } from '../inspect/index.js';
import { extensionsFolder, type Architecture } from '../layer/index.js';
// standalone/layout, not the index: every pack checks a layer, and the index loads npm, tar and hashing.
import { bundledNodePath } from '../standalone/layout.js';
import { dosDateTime, readZip } from '../zip/index.js';
import { relativeTo, type PackedLayer } from './manifest.js';

/** A standalone config zipped with --no-build from a layer built without its node would fail on Lambda. */
export async function requireBundledNode(
  layerDirectory: string,
  name: string,
  projectDirectory: string,
): Promise<void> {
  const node = path.join(layerDirectory, bundledNodePath(name));
  const present = await stat(node).then(
    (info) => info.isFile(),
    () => false,
  );
  if (!present) {
    throw new CliError(
      `${relativeTo(projectDirectory, node)} is missing, but lambda-extension.json asks for a standalone layer`,
      {
        code: 'E_PACK_NODE_MISSING',
        hint: 'run ext build (or ext pack without --no-build) so the layer gets its node binary',
      },
    );
  }
}

export async function requireBuiltLayer(
  layerDirectory: string,
  outDirectory: string,
  projectDirectory: string,
): Promise<void> {
  try {
    if ((await stat(path.join(layerDirectory, extensionsFolder))).isDirectory()) return;
  } catch {
    // reported below
  }
  throw new CliError(
    `nothing built in ${relativeTo(projectDirectory, layerDirectory)}: there is no extensions/ folder`,
    {
      code: 'E_PACK_NOT_BUILT',
      hint: `run ext build first${outDirectory === path.join(projectDirectory, 'dist') ? '' : ` --out ${relativeTo(projectDirectory, outDirectory)}`}, or drop --no-build`,
    },
  );
}

/** Reads the temp zip back and applies ext inspect's checks plus our own reproducibility contract. */
export async function verifyZip(
  temporaryPath: string,
  zipPath: string,
  architecture: Architecture,
  timestamp: Date,
  projectDirectory: string,
): Promise<PackedLayer> {
  const buffer = await readFile(temporaryPath);
  const zip = relativeTo(projectDirectory, zipPath);
  const report = inspectZipBuffer(buffer, zip, { architecture });
  const problems = [
    ...report.findings
      .filter((finding) => finding.severity === 'error')
      .map((finding) => `${finding.path === undefined ? '' : `${finding.path}: `}${finding.message} [${finding.code}]`),
    ...zipContractProblems(buffer, timestamp),
  ];
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).join('; ');
    throw new CliError(
      `${zip} failed verification, so it was not written (${problems.length} problem${problems.length === 1 ? '' : 's'}): ${shown}${problems.length > 5 ? '; ...' : ''}`,
      {
        code: 'E_PACK_VERIFY_FAILED',
        hint: `fix the layer in ${relativeTo(projectDirectory, path.join(path.dirname(zipPath), architecture))} and pack again; the previous zip is unchanged`,
      },
    );
  }
  const digest = createHash('sha256').update(buffer).digest();
  return {
    architecture,
    compatibleArchitectures: [architecture],
    zip,
    zipPath,
    sha256: digest.toString('hex'),
    codeSha256: digest.toString('base64'),
    zippedBytes: buffer.length,
    unzippedBytes: report.unzippedBytes,
    files: report.files,
    // A standalone layer's runtime requirement is said once, as a pack note, not as a warning per zip.
    warnings: report.findings.filter(
      (finding) => finding.severity === 'warning' && finding.code !== 'bundled-node-al2023',
    ),
  };
}

/** What makes our zips reproducible and Lambda-safe, checked on the bytes we wrote. */
export function zipContractProblems(buffer: Buffer, timestamp: Date): string[] {
  const problems: string[] = [];
  const expected = dosDateTime(timestamp);
  const archive = readZip(buffer);
  let seenFile = false;
  let previous: { directory: boolean; name: string } | undefined;
  for (const entry of archive.entries) {
    const directory = entry.name.endsWith('/');
    if (entry.platform !== 3) problems.push(`${entry.name}: made by platform ${entry.platform}, not Unix`);
    if (entry.dosDate !== expected.date || entry.dosTime !== expected.time)
      problems.push(`${entry.name}: timestamp is not the fixed one`);
    if (entry.extraFields.length > 0 || entry.localExtraFields.length > 0)
      problems.push(`${entry.name}: has extra fields`);
    const mode = entry.externalAttributes >>> 16;
    const permissions = mode & 0o7777;
    if (permissions !== 0o755 && permissions !== 0o644)
      problems.push(`${entry.name}: mode ${permissions.toString(8)} is neither 0755 nor 0644`);
    if (directory && seenFile) problems.push(`${entry.name}: directory after files`);
    if (
      previous !== undefined &&
      previous.directory === directory &&
      Buffer.compare(Buffer.from(previous.name), Buffer.from(entry.name)) >= 0
    ) {
      problems.push(`${entry.name}: entries are not sorted`);
    }
    seenFile ||= !directory;
    previous = { directory, name: entry.name };
  }
  return problems;
}

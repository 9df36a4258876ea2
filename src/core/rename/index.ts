import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { architectures } from '../layer/index.js';
import { readConfig } from '../config.js';
import { usageError } from '../errors.js';
import { extensionNameProblem, npmNameProblem, packageNameOf, settingsPrefixOf } from '../names.js';

export interface RenameOptions {
  projectDirectory: string;
  newName: string;
  /** List what would change, write nothing. */
  dryRun?: boolean;
}

export interface RenameResult {
  oldName: string;
  newName: string;
  settingsPrefix: { old: string; new: string };
  /** Project files whose text named the extension or its settings prefix, relative to the project. */
  changed: string[];
  /** Zips of the old name removed from dist/ (ext pack makes the new ones). */
  removed: string[];
  dryRun: boolean;
}

/** Folders that hold no source of the project: installed, built, vendored or version control. */
const skipped = new Set(['node_modules', 'dist', '.git', 'vendor']);

/**
 * Renames the extension: the name in lambda-extension.json, and every
 * whole-word mention of the old name, its npm package name and its settings
 * prefix (MY_EXT_) in the project's text files (README, sources, tests,
 * infrastructure), so nothing keeps the old name silently. Every changed file
 * is listed; --dry-run lists without writing. The old name's zips in dist/
 * go, since they would pass inspection for an extension that no longer exists.
 */
export async function renameExtension(options: RenameOptions): Promise<RenameResult> {
  const projectDirectory = path.resolve(options.projectDirectory);
  const problem = extensionNameProblem(options.newName) ?? npmNameProblem(packageNameOf(options.newName));
  if (problem !== undefined)
    throw usageError('E_RENAME_NAME_INVALID', `NEW: "${options.newName}" ${problem.replace(/^it /u, '')}`);
  // Read through the config module: outside a project, or with a broken file, the error is E_CONFIG_*, not ENOENT.
  const oldName = (await readConfig(projectDirectory)).name;
  if (oldName === options.newName)
    throw usageError('E_RENAME_SAME_NAME', `NEW: the extension is already called "${oldName}"`);
  const replacements: [RegExp, string][] = [
    // The prefix starts a variable's name (MY_EXT_LOG_LEVEL): bounded before it only.
    [wholeWord(settingsPrefixOf(oldName), false), settingsPrefixOf(options.newName)],
    [wholeWord(oldName), options.newName],
    [wholeWord(packageNameOf(oldName)), packageNameOf(options.newName)],
  ];
  const changed: string[] = [];
  for (const file of await textFiles(projectDirectory)) {
    const before = await readFile(path.join(projectDirectory, file), 'utf8');
    let after = before;
    for (const [from, to] of replacements) after = after.replace(from, to);
    if (after === before) continue;
    changed.push(file);
    if (options.dryRun !== true) await writeFile(path.join(projectDirectory, file), after);
  }
  const removed: string[] = [];
  const dist = path.join(projectDirectory, 'dist');
  for (const architecture of architectures) {
    const zip = path.join(dist, `${oldName}-${architecture}.zip`);
    if (
      !(await stat(zip).then(
        () => true,
        () => false,
      ))
    )
      continue;
    removed.push(path.relative(projectDirectory, zip));
    if (options.dryRun !== true) await rm(zip, { force: true });
  }
  return {
    oldName,
    newName: options.newName,
    settingsPrefix: { old: settingsPrefixOf(oldName), new: settingsPrefixOf(options.newName) },
    changed: changed.sort(),
    removed,
    dryRun: options.dryRun === true,
  };
}

/** The name where it stands alone: not inside a longer name made of the same characters. */
function wholeWord(text: string, boundedAfter = true): RegExp {
  const escaped = text.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&');
  // Not a longer name (my-ext-2, my-ext.v2); a layer name (my-ext-arm64, my-ext-<arch>, my-ext-$arch) is ours.
  // A prefix: not another name's (MY_EXT_2_ is my-ext-2's).
  const after = boundedAfter ? '(?![A-Za-z0-9_]|\\.[A-Za-z0-9]|-(?!x86_64|arm64|[<$*{])[A-Za-z0-9])' : '(?![0-9])';
  return new RegExp(`(?<![A-Za-z0-9_.-])${escaped}${after}`, 'gu');
}

async function textFiles(directory: string, prefix = ''): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(path.join(directory, prefix), { withFileTypes: true })) {
    const relative = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory() && !skipped.has(entry.name)) files.push(...(await textFiles(directory, relative)));
    else if (entry.isFile()) {
      const bytes = await readFile(path.join(directory, relative));
      // Binary (a NUL byte) or large files are not the project's text.
      if (bytes.length < 1024 * 1024 && !bytes.includes(0)) files.push(relative);
    }
  }
  return files;
}

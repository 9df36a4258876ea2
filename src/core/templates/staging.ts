import { chmod, lstat, mkdir, mkdtemp, realpath, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { CancelledError, CliError, errorMessage } from '../errors.js';
import { isErrorCode, pathExists } from '../fs-utils.js';
import type { TemplateSource } from './catalog.js';
import { renderSources } from './render.js';

export interface WriteTemplateFilesOptions {
  /** The folder the files go into. */
  directory: string;
  /** It does not exist yet: the staging folder is moved into place whole. Else the files are added to it. */
  directoryIsNew: boolean;
  /** The files, by project path. */
  sources: ReadonlyMap<string, TemplateSource>;
  /** The variables the `*.hbs` files are rendered with. */
  context: object;
  /** The staging folder's path up to mkdtemp's random suffix: on the same filesystem as `directory`. */
  stagingPrefix: string;
  /** What to do when the staging folder cannot be made. */
  stagingHint: string;
  /** Writes what no template renders (the vendored toolkit) into the staging folder; returns its project paths. */
  addFiles?: ((staging: string) => Promise<string[]>) | undefined;
  /** Starts the refusal when a path cannot take a file: `--force: cannot put the template files`. */
  blockedMessage: string;
  blockedHint: string;
  /** An existing file that it refuses, and that is there by now, stops the move (see moveIntoExistingDirectory). */
  mayReplace?: ((file: string) => boolean) | undefined;
  /** Aborting before the files are in place changes nothing and rejects with CancelledError. */
  signal?: AbortSignal | undefined;
}

export interface WrittenTemplateFiles {
  /** Every file written, relative to the directory, sorted. */
  files: string[];
  /** Files that existed before and were replaced. */
  overwritten: string[];
}

/**
 * The one writer of template files, for create and for ext add: renders into
 * a private staging folder beside or inside the target, then moves the result
 * into place, so that a failure or Ctrl-C leaves nothing behind, not half a
 * project and not half a set of workflows.
 */
export async function writeTemplateFiles(options: WriteTemplateFilesOptions): Promise<WrittenTemplateFiles> {
  const { directory, signal } = options;
  const staging = await mkdtemp(options.stagingPrefix).catch((error: unknown) => {
    throw new CliError(`cannot write into ${path.dirname(options.stagingPrefix)}: ${errorMessage(error)}`, {
      code: 'E_TEMPLATE_STAGING_FAILED',
      hint: options.stagingHint,
    });
  });
  try {
    // mkdtemp makes the folder private; a project folder, which it may become, is not.
    await chmod(staging, 0o777 & ~process.umask());
    const files = await renderSources(options.sources, staging, options.context);
    if (options.addFiles !== undefined) {
      files.push(...(await options.addFiles(staging)));
      files.sort();
    }
    if (signal?.aborted === true) throw new CancelledError();
    if (options.directoryIsNew) {
      try {
        await rename(staging, directory);
      } catch (error) {
        throw new CliError(`cannot create ${directory}: ${errorMessage(error)}`, {
          code: 'E_TEMPLATE_WRITE_FAILED',
          hint: 'nothing was written; choose another directory',
        });
      }
      return { files, overwritten: [] };
    }
    const problems = await replacementProblems(directory, files);
    if (problems.length > 0) {
      const more = problems.length > 3 ? `; and ${problems.length - 3} more` : '';
      throw new CliError(
        `${options.blockedMessage} into ${directory}: ${problems.slice(0, 3).join('; ')}${more}`,
        { code: 'E_TEMPLATE_PATH_BLOCKED', hint: options.blockedHint },
      );
    }
    const overwritten = await moveIntoExistingDirectory(staging, directory, files, path.join(staging, '.replaced'), {
      mayReplace: options.mayReplace,
      signal,
    });
    return { files, overwritten };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * Every file must be able to take the place of what is at its path. All of
 * them are checked before the first write, so a refusal leaves the directory
 * exactly as it was: no folder where a file goes, no file where a folder goes,
 * and no folder reached through a symlink that leads out of the project.
 */
export async function replacementProblems(directory: string, files: string[]): Promise<string[]> {
  const realDirectory = await realpath(directory);
  const checks = new Map<string, Promise<'missing' | 'ok' | string>>();
  const check = (relative: string, isFile: boolean): Promise<'missing' | 'ok' | string> => {
    const key = `${relative}\0${isFile}`;
    let result = checks.get(key);
    if (result === undefined) {
      result = (async () => {
        const target = path.join(directory, relative);
        let info;
        try {
          info = await lstat(target);
        } catch (error) {
          return isErrorCode(error, 'ENOENT') ? 'missing' : `${relative} cannot be read (${errorMessage(error)})`;
        }
        if (isFile) return info.isDirectory() ? `${relative} is a folder where the template has a file` : 'ok';
        if (info.isDirectory()) return 'ok';
        if (info.isSymbolicLink()) {
          const resolved = await realpath(target).catch(() => undefined);
          if (resolved === undefined) return `${relative} is a broken symbolic link where the template has a folder`;
          const inside = path.relative(realDirectory, resolved);
          if (inside.startsWith('..') || path.isAbsolute(inside))
            return `${relative} is a symbolic link to ${resolved}, outside the project`;
          return (await stat(resolved)).isDirectory() ? 'ok' : `${relative} is a file where the template has a folder`;
        }
        return `${relative} is a file where the template has a folder`;
      })();
      checks.set(key, result);
    }
    return result;
  };
  const problems = new Set<string>();
  for (const file of files) {
    const segments = file.split('/');
    for (let count = 1; count <= segments.length; count += 1) {
      const outcome = await check(segments.slice(0, count).join('/'), count === segments.length);
      if (outcome === 'missing') break;
      if (outcome !== 'ok') {
        problems.add(outcome);
        break;
      }
    }
  }
  return [...problems];
}

/**
 * Moves the rendered files over the existing directory. What each replaces is
 * moved aside first, so that a failure half-way puts every file back. A file
 * that `mayReplace` refuses and that is there by now (it appeared since the
 * caller checked) stops the move, and everything is put back; so does an
 * abort (Ctrl-C), which then rejects with CancelledError.
 */
export async function moveIntoExistingDirectory(
  staging: string,
  directory: string,
  files: string[],
  backups: string,
  options: { mayReplace?: ((file: string) => boolean) | undefined; signal?: AbortSignal | undefined } = {},
): Promise<string[]> {
  const mayReplace = options.mayReplace ?? (() => true);
  const overwritten: string[] = [];
  const applied: { target: string; backup: string | undefined; createdDirectory: string | undefined }[] = [];
  try {
    for (const file of files) {
      if (options.signal?.aborted === true) throw new CancelledError();
      const target = path.join(directory, file);
      const existed = await pathExists(target);
      if (existed && !mayReplace(file)) {
        throw new CliError(
          `cannot write the project into ${directory}: ${file} appeared while the files were being written`,
          { code: 'E_TEMPLATE_FILE_APPEARED', hint: 'nothing was changed; look at that file, then try again' },
        );
      }
      const createdDirectory = await mkdir(path.dirname(target), { recursive: true });
      let backup: string | undefined;
      if (existed) {
        backup = path.join(backups, file);
        await mkdir(path.dirname(backup), { recursive: true });
        await rename(target, backup);
        overwritten.push(file);
      }
      applied.push({ target, backup, createdDirectory });
      await rename(path.join(staging, file), target);
    }
  } catch (error) {
    for (const { target, backup, createdDirectory } of applied.reverse()) {
      await (backup === undefined ? rm(target, { force: true }) : rename(backup, target)).catch(() => {});
      if (createdDirectory !== undefined) await rm(createdDirectory, { recursive: true, force: true }).catch(() => {});
    }
    if (error instanceof CliError) throw error;
    throw new CliError(`cannot write the project into ${directory}: ${errorMessage(error)}`, {
      code: 'E_TEMPLATE_WRITE_FAILED',
      hint: 'nothing was changed; check that the directory is writable and try again',
    });
  }
  return overwritten;
}

import { rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CliError, errorMessage } from '../errors.js';
import { extractLayerZip } from '../layer/unpack.js';

/**
 * The function's code, Lambda's /var/task: a folder used as it is, or a zip
 * (the deployment package) unpacked into a temp folder of ext dev's own with
 * the layer foundation's safe unzip, and removed afterwards.
 */

export interface TaskRoot {
  directory: string;
  /** The path the user gave, for messages. */
  shownAs: string;
  /** Whether `directory` is a temp folder of ours (an unpacked zip). */
  unpacked: boolean;
  cleanup(): Promise<void>;
}

/** Temp folders still to remove when the process exits without unwinding (a second Ctrl-C). */
const pending = new Set<string>();
let exitHookInstalled = false;

function removeOnExit(directory: string): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const folder of pending) rmSync(folder, { recursive: true, force: true });
    });
  }
  pending.add(directory);
  return () => pending.delete(directory);
}

export async function openTaskRoot(given: string, baseDirectory: string): Promise<TaskRoot> {
  const source = path.resolve(baseDirectory, given);
  const stat = await fs.stat(source).catch(() => undefined);
  if (stat === undefined) {
    throw new CliError(`--function: ${source} does not exist`, {
      code: 'E_FUNCTION_PATH_INVALID',
      exitCode: 2,
      hint: "pass the function's folder (what Lambda puts in /var/task) or its deployment zip",
    });
  }
  if (stat.isDirectory()) {
    return { directory: source, shownAs: source, unpacked: false, cleanup: async () => {} };
  }
  if (!stat.isFile()) {
    throw new CliError(`--function: ${source} is neither a folder nor a zip file`, {
      code: 'E_FUNCTION_PATH_INVALID',
      exitCode: 2,
      hint: "pass the function's folder or its deployment zip",
    });
  }
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'ext-dev-function-'));
  const forget = removeOnExit(directory);
  const cleanup = async () => {
    await fs.rm(directory, { recursive: true, force: true });
    forget();
  };
  try {
    await extractLayerZip(source, directory, { requireExtension: false });
  } catch (error) {
    await cleanup();
    throw new CliError(
      `--function: ${error instanceof CliError ? error.message : `cannot unpack ${source}: ${errorMessage(error)}`}`,
      {
        code: 'E_FUNCTION_PATH_INVALID',
        hint:
          error instanceof CliError && error.hint !== undefined
            ? error.hint
            : "pass the function's deployment zip or its folder",
        cause: error,
      },
    );
  }
  // Lambda's /var/task is the zip's root; the folder of ours gets 0755 like it.
  await fs.chmod(directory, 0o755);
  return { directory, shownAs: source, unpacked: true, cleanup };
}

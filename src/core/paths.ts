import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package root, found by walking up from this module: it runs both from
 * tsc's output (build/src/core/) and from the bundled CLI (build/cli/).
 */
function findToolkitRoot(): string {
  let directory = path.dirname(fileURLToPath(import.meta.url));
  while (!(existsSync(path.join(directory, 'package.json')) && existsSync(path.join(directory, 'templates')))) {
    const parent = path.dirname(directory);
    if (parent === directory)
      throw new Error('create-lambda-extension: cannot find the package root (templates/ is missing)');
    directory = parent;
  }
  return directory;
}

export const toolkitRoot = findToolkitRoot();
export const templatesRoot = path.join(toolkitRoot, 'templates');

import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: build/src/core/paths.js sits three levels below it. */
export const toolkitRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const templatesRoot = path.join(toolkitRoot, 'templates');

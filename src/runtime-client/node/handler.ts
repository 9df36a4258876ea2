import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { handlerNotFound, importModuleError, malformedHandlerName, userCodeSyntaxError } from './errors.js';

/*
 * `_HANDLER` → the function, as Lambda's Node.js runtime finds it: `dir/file.a.b` is the export `a.b` of `file` in
 * `<task root>/dir`. The file is tried as Lambda tries it: `file` as is (CommonJS), `file.js` (CommonJS unless the
 * nearest package.json says "type": "module", then ESM), `file.mjs` (ESM), `file.cjs` (CommonJS), and last Node's
 * own resolution of `file` from the task root. ESM is awaited, so its top-level await finishes within Init.
 */

export type Handler = (event: unknown, context: unknown, callback?: unknown) => unknown;

// The file part holds no dot; everything after the first dot is the export's path.
const handlerPattern = /^([^.]*)\.(.*)$/;

/** Does the nearest package.json above `folder` say "type": "module"? Stops at node_modules, as Lambda's runtime. */
function inModulePackage(folder: string): boolean {
  for (let current = folder; ; current = path.dirname(current)) {
    if (current.endsWith(`${path.sep}node_modules`)) return false;
    const manifest = path.join(current, 'package.json');
    if (existsSync(manifest)) {
      try {
        const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { type?: unknown } | null;
        if (parsed) return parsed.type === 'module';
      } catch (error) {
        console.warn(`${manifest} cannot be read, it will be ignored for ES module detection purposes.`, error);
        return false;
      }
    }
    if (path.dirname(current) === current) return false;
  }
}

async function loadModule(taskRoot: string, moduleRoot: string, moduleName: string): Promise<unknown> {
  const require = createRequire(path.join(taskRoot, 'index.js'));
  const base = path.resolve(taskRoot, moduleRoot, moduleName);
  const importFile = async (file: string) => (await import(pathToFileURL(file).href)) as unknown;

  if (existsSync(base)) return require(base) as unknown;
  const isModulePackage = existsSync(`${base}.js`) && inModulePackage(path.dirname(base));
  if (existsSync(`${base}.js`)) return isModulePackage ? importFile(`${base}.js`) : (require(`${base}.js`) as unknown);
  if (existsSync(`${base}.mjs`)) return importFile(`${base}.mjs`);
  if (existsSync(`${base}.cjs`)) return require(`${base}.cjs`) as unknown;
  // Not a file of the task: Node's own resolution (a package in node_modules, NODE_PATH).
  return require(require.resolve(moduleName, { paths: [taskRoot, path.resolve(taskRoot, moduleRoot)] })) as unknown;
}

/** Loads the handler named by `handlerName` from `taskRoot`, or throws the Runtime.* error Lambda reports. */
export async function loadHandler(taskRoot: string, handlerName: string): Promise<Handler> {
  if (handlerName.includes('..')) {
    throw malformedHandlerName(
      `'${handlerName}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  const fileAndExport = path.basename(handlerName);
  const moduleRoot = handlerName.slice(0, handlerName.indexOf(fileAndExport));
  const match = handlerPattern.exec(fileAndExport);
  if (!match) throw malformedHandlerName('Bad handler');
  const [, moduleName = '', exportPath = ''] = match;

  let loaded: unknown;
  try {
    loaded = await loadModule(taskRoot, moduleRoot, moduleName);
  } catch (error) {
    if (error instanceof SyntaxError) throw userCodeSyntaxError(error);
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') throw importModuleError(error);
    throw error;
  }

  const handler = exportPath
    .split('.')
    .reduce<unknown>((object, key) => (object ? (object as Record<string, unknown>)[key] : undefined), loaded);
  if (!handler) throw handlerNotFound(`${handlerName} is undefined or not exported`);
  if (typeof handler !== 'function') throw handlerNotFound(`${handlerName} is not a function`);
  return handler as Handler;
}

/** A handler written `async`: Lambda does not call it with a callback's semantics. */
export function isAsyncFunction(handler: Handler): boolean {
  return handler.constructor?.name === 'AsyncFunction';
}

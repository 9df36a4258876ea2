/* The wrapper script a project may ship at the layer's root, for AWS_LAMBDA_EXEC_WRAPPER (the proxy template's). */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { configFileName, type ExtensionConfig } from '../config.js';
import { CliError, errorMessage } from '../errors.js';
import { isErrorCode } from '../fs-utils.js';
import type { LayerFile } from './layer-files.js';

/** Where ext build puts the wrapper in the layer: /opt/<name>-wrapper, named after the extension so layers never collide. */
export function wrapperLayerPath(extensionName: string): string {
  return `${extensionName}-wrapper`;
}

/** A wrapper is a few lines of shell; anything this big is the wrong file. */
const maximumWrapperBytes = 64 * 1024;

/**
 * The project's "wrapper" as a layer file (mode 0755), or undefined when the
 * config names none. Refused, naming the file, when Lambda could not run it:
 * no "#!" line, or a CR (a CRLF checkout), which fails at launch inside Lambda
 * with "no such file or directory" and nowhere else.
 */
export async function readWrapper(config: ExtensionConfig, projectDirectory: string): Promise<LayerFile | undefined> {
  if (config.wrapper === undefined) return undefined;
  const source = path.join(projectDirectory, config.wrapper);
  let contents: Buffer;
  try {
    contents = await readFile(source);
  } catch (error) {
    throw new CliError(
      `${source}: the wrapper named by "wrapper" in ${configFileName} ${isErrorCode(error, 'ENOENT') ? 'does not exist' : `cannot be read (${errorMessage(error)})`}`,
      {
        code: 'E_BUILD_WRAPPER_MISSING',
        hint: 'restore the script, or drop "wrapper" from lambda-extension.json',
      },
    );
  }
  if (contents.length > maximumWrapperBytes)
    throw new CliError(`${source}: ${contents.length} bytes is too large for a wrapper script`, {
      code: 'E_BUILD_WRAPPER_INVALID',
      hint: 'point "wrapper" in lambda-extension.json at the shell script',
    });
  if (contents.subarray(0, 2).toString('latin1') !== '#!')
    throw new CliError(`${source}: the wrapper does not start with "#!", so Lambda cannot run it`, {
      code: 'E_BUILD_WRAPPER_INVALID',
      hint: 'make its first line #!/bin/sh',
    });
  const carriageReturn = contents.indexOf(0x0d);
  if (carriageReturn !== -1) {
    const line = contents.subarray(0, carriageReturn).toString('latin1').split('\n').length;
    throw new CliError(
      `${source}: line ${line} ends with CRLF; Lambda fails to start a script with CR characters ("no such file or directory")`,
      {
        code: 'E_BUILD_WRAPPER_INVALID',
        hint: 'convert it to LF (dos2unix, or "* text eol=lf" in .gitattributes), then build again; ext build does not change your file',
      },
    );
  }
  return { path: wrapperLayerPath(config.name), contents, mode: 0o755 };
}

/* Reading a layer zip the user named: bounded by what Lambda allows a layer, before any byte is parsed. */
import { CliError, errorMessage } from '../errors.js';
import { readRegularFileUpTo } from '../fs-utils.js';
import { maximumZipFileBytes, unzippedLimitText } from './limits.js';

/**
 * Reads a zip file the user named, refusing what no layer zip can be: a
 * device or FIFO (`/dev/zero` would never end) or a file over
 * `maximumZipFileBytes`. Checks the opened handle, so a file swapped after
 * the check is not read either. Messages name `label` (the user's path).
 */
export async function readZipFile(filePath: string, label = filePath): Promise<Buffer> {
  let read;
  try {
    read = await readRegularFileUpTo(filePath, maximumZipFileBytes);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CliError(`${label} does not exist`, {
        code: 'E_ZIP_NOT_FOUND',
        hint: 'pass the path of a layer zip, e.g. dist/<name>-x86_64.zip (made by ext pack)',
      });
    }
    throw new CliError(`cannot read ${label}: ${errorMessage(error)}`, { code: 'E_ZIP_UNREADABLE' });
  }
  if (Buffer.isBuffer(read)) return read;
  if (read.problem === 'directory')
    throw new CliError(`${label} is a directory, not a zip file`, {
      code: 'E_ZIP_NOT_A_FILE',
      hint: 'pass the path of a layer zip',
    });
  if (read.problem !== 'too-large') {
    throw new CliError(`${label} is not a regular file (a device, FIFO or socket), so it cannot be a layer zip`, {
      code: 'E_ZIP_NOT_A_FILE',
      hint: 'pass the path of a layer zip file',
    });
  }
  throw new CliError(
    `${label} is ${read.size} bytes, larger than any layer zip can be (${maximumZipFileBytes} bytes: Lambda's ${unzippedLimitText} unzipped limit plus headers)`,
    { code: 'E_ZIP_TOO_LARGE', hint: 'check that this is the layer zip you meant; Lambda refuses layers this large' },
  );
}

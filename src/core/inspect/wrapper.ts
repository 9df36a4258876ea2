/* Wrapper scripts at the layer's root, which functions run through AWS_LAMBDA_EXEC_WRAPPER=/opt/<file>. */
import { isExecutableEntry, isSymlinkEntry, platformName, unixMode } from '../zip/index.js';
import type { AddFinding, InspectedWrapper } from './report.js';
import type { FileEntry } from './zip-structure.js';

/**
 * Whether a zip entry is named like a wrapper script: a file at the layer's
 * root called `wrapper`, or ending in `-wrapper`, `_wrapper` or `.wrapper`,
 * with or without `.sh` (`/opt/wrapper`, `/opt/my-ext-wrapper` as ext build
 * writes it, `/opt/datadog_wrapper`). Lambda never starts these by itself:
 * the function's AWS_LAMBDA_EXEC_WRAPPER names one, and the runtime is then
 * started through it, so a wrapper that cannot run fails every invocation.
 */
export function isWrapperPath(entryPath: string): boolean {
  return !entryPath.includes('/') && /(^|[-_.])wrapper(\.sh)?$/i.test(entryPath);
}

const consequence =
  'Lambda starts the runtime through it (AWS_LAMBDA_EXEC_WRAPPER), so every function that names it fails to start';

/** Checks a wrapper script: its exec bit, its "#!" line, its line endings, and that it runs the runtime. */
export function checkWrapper(file: FileEntry, add: AddFinding): InspectedWrapper {
  const name = file.entry.name;
  const wrapper: InspectedWrapper = { path: name, kind: 'other' };
  if (isSymlinkEntry(file.entry)) {
    wrapper.kind = 'symlink';
    return wrapper;
  }
  const executable = isExecutableEntry(file.entry);
  if (executable === undefined) {
    add(
      'error',
      'wrapper-not-executable',
      `the zip was made by ${platformName(file.entry.platform)} and records no Unix permissions, so the wrapper unpacks without the execute bit; ${consequence} ("permission denied"). Re-zip on Linux or macOS (or with ext pack)`,
      name,
    );
  } else if (!executable) {
    const mode = ((unixMode(file.entry) ?? 0) & 0o7777).toString(8).padStart(4, '0');
    add(
      'error',
      'wrapper-not-executable',
      `mode ${mode} has no execute bit; ${consequence} ("permission denied"). chmod 0755 it before zipping`,
      name,
    );
  }
  const data = file.head;
  if (data === undefined) return wrapper;
  if (file.isElf) {
    wrapper.kind = 'elf';
    return wrapper;
  }
  if (data.subarray(0, 2).toString('latin1') !== '#!') {
    add(
      'error',
      'wrapper-missing-shebang',
      `the wrapper does not start with "#!", so the kernel cannot run it (exec format error); ${consequence}. Make its first line #!/bin/sh`,
      name,
    );
    return wrapper;
  }
  wrapper.kind = 'script';
  const script = data.toString('utf8');
  const lines = script.split('\n');
  wrapper.interpreter = lines[0]!.slice(2).replace(/\r$/, '').trim();
  const withCarriageReturn = lines.findIndex((line) => line.includes('\r'));
  if (withCarriageReturn !== -1) {
    add(
      'error',
      'wrapper-crlf',
      `line ${withCarriageReturn + 1} ${lines[withCarriageReturn]!.endsWith('\r') ? 'ends with CRLF' : 'contains a CR'}: ${withCarriageReturn === 0 ? 'the kernel looks for the interpreter with a trailing CR ("no such file or directory")' : 'the shell reads the CR as part of commands and arguments'}, and ${consequence}; convert it to LF (dos2unix, or "* text eol=lf" in .gitattributes)`,
      name,
    );
  }
  // Lambda passes the runtime's command line as the arguments: a wrapper that never uses "$@" never starts it.
  const code = lines
    .slice(1)
    .map((line) => line.replace(/(^|\s)#.*$/, ''))
    .join('\n');
  if (!/\$@|\$\{@\}|\$\*/.test(code) && data.length === (file.size ?? data.length)) {
    add(
      'warning',
      'wrapper-ignores-arguments',
      'the wrapper never uses "$@": Lambda passes it the runtime\'s command line, which it should end by running (exec "$@")',
      name,
    );
  } else if (/\$@|\$\{@\}/.test(code) && !/(^|[\s;&|(])exec\s/m.test(code)) {
    add(
      'warning',
      'wrapper-without-exec',
      'the wrapper runs the runtime without exec: the shell stays as its parent, so the runtime does not get the signals Lambda sends (SIGTERM at shutdown); end with exec "$@"',
      name,
    );
  }
  return wrapper;
}

/**
 * The extension's name is its file name in /opt/extensions and the value of
 * the Lambda-Extension-Name header, so it must be a safe, portable file name.
 */
export const extensionNameRule =
  'use 1 to 64 characters: letters, digits, ".", "_" and "-", starting with a letter or digit';

const extensionNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Returns undefined for a good name, else the reason it is refused. */
export function extensionNameProblem(name: string): string | undefined {
  if (extensionNamePattern.test(name)) return undefined;
  if (name === '') return `the name is empty; ${extensionNameRule}`;
  return `"${name}" is not a valid extension name; ${extensionNameRule}`;
}

export function isValidExtensionName(name: string): boolean {
  return extensionNameProblem(name) === undefined;
}

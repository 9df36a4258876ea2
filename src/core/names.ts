import { builtinModules } from 'node:module';

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
  // Cut, so that a huge name from a config file or a header cannot flood the one-line error.
  const shown =
    name.length > 64 ? `${JSON.stringify(name.slice(0, 64))}… (${name.length} characters)` : JSON.stringify(name);
  return `${shown} is not a valid extension name; ${extensionNameRule}`;
}

export function isValidExtensionName(name: string): boolean {
  return extensionNameProblem(name) === undefined;
}

/**
 * The version is stamped into the build (go's -ldflags -X, esbuild's define)
 * and passed on a command line, so it must be short and need no quoting.
 */
export const versionRule =
  'use 1 to 128 characters: letters, digits, ".", "_", "+", "~" and "-", starting with a letter or digit (for example 1.2.3 or v1.2.3-rc.1+build.5)';

const versionPattern = /^[A-Za-z0-9][A-Za-z0-9._+~-]{0,127}$/;

export function versionProblem(version: string): string | undefined {
  if (versionPattern.test(version)) return undefined;
  const shown =
    version.length > 40
      ? `${JSON.stringify(version.slice(0, 40))}… (${version.length} characters)`
      : JSON.stringify(version);
  return `${shown} is not a valid version; ${versionRule}`;
}

/**
 * First path elements that make a module whose project does not build: the
 * standard library's top-level packages (go resolves those imports to GOROOT),
 * go's meta-packages (`go build std` means every std package) and its special
 * directories. Checked against `go mod init X && go build ./... && go vet ./...`
 * with a module that imports its own X/extension package.
 */
const reservedGoFirstElements = new Set([
  // go list std | cut -d/ -f1 | sort -u (Go 1.26), plus builtin
  ...'archive bufio builtin bytes cmp compress container context crypto database debug embed encoding errors expvar flag fmt go hash html image index internal io iter log maps math mime net os path plugin reflect regexp runtime slices sort strconv strings structs sync syscall testing text time unicode unique unsafe vendor weak'.split(
    ' ',
  ),
  // meta-packages and cgo's pseudo-package
  ...'all cmd std tool toolchain work C'.split(' '),
]);

const windowsReservedNames = /^(con|prn|aux|nul|com[1-9¹²³]|lpt[1-9¹²³])$/i;

export const goModuleRule =
  'use path elements of letters, digits, ".", "_", "~" and "-" separated by single "/", such as github.com/acme/my-extension';

/**
 * Returns undefined for a module path that `go mod init` accepts and whose
 * project builds, else the reason. Follows golang.org/x/mod/module's path
 * checks, except that the first element needs no dot: `go mod init myext`
 * is fine for a module nobody fetches.
 */
export function goModuleProblem(modulePath: string): string | undefined {
  const shown = JSON.stringify(modulePath.length > 80 ? `${modulePath.slice(0, 80)}…` : modulePath);
  const refuse = (why: string) => `${shown} is not a usable Go module path: ${why}; ${goModuleRule}`;
  if (modulePath === '') return refuse('it is empty');
  if (modulePath.length > 1000) return refuse('it is longer than 1000 characters');
  if (modulePath.startsWith('-')) return refuse('it starts with "-"');
  if (modulePath.startsWith('/')) return refuse('it starts with "/"');
  if (modulePath.endsWith('/')) return refuse('it ends with "/"');
  if (modulePath.includes('//')) return refuse('it has an empty element ("//")');
  const elements = modulePath.split('/');
  for (const element of elements) {
    if (/^\.+$/.test(element)) return refuse(`"${element}" is not allowed as a path element`);
    const bad = /[^A-Za-z0-9._~-]/u.exec(element);
    if (bad !== null) return refuse(`${JSON.stringify(bad[0])} is not allowed`);
    if (element.startsWith('.')) return refuse(`the element "${element}" starts with a dot`);
    if (element.endsWith('.')) return refuse(`the element "${element}" ends with a dot`);
    const short = element.split('.')[0]!;
    if (windowsReservedNames.test(short)) return refuse(`"${short}" is a reserved file name on Windows`);
    if (/~[0-9]+$/.test(short)) return refuse(`the element "${element}" ends in "~" and digits`);
  }
  const first = elements[0]!;
  if (reservedGoFirstElements.has(first))
    return refuse(
      `"${first}" is a Go standard-library package or a go command keyword, so imports of the module would not resolve to it`,
    );
  const suffixProblem = majorVersionSuffixProblem(modulePath);
  if (suffixProblem !== undefined) return refuse(suffixProblem);
  return undefined;
}

/**
 * module.SplitPathVersion's verdict, which `go mod init` applies: a trailing
 * /vN must be /v2 or higher without leading zeros or dots, and a gopkg.in
 * path must end in .vN.
 */
function majorVersionSuffixProblem(modulePath: string): string | undefined {
  if (modulePath.startsWith('gopkg.in/')) {
    const gopkg = /\.v([0-9]*)(?:-unstable)?$/.exec(modulePath);
    const digits = gopkg?.[1] ?? '';
    if (digits === '' || (digits.startsWith('0') && digits !== '0'))
      return 'a gopkg.in path must end in .vN, such as gopkg.in/yaml.v3';
    return undefined;
  }
  const suffix = /\/v([0-9.]+)$/.exec(modulePath)?.[1];
  if (suffix === undefined) return undefined;
  if (suffix.includes('.') || suffix.startsWith('0') || suffix === '1')
    return `a major version suffix must be /v2 or higher, not /v${suffix}`;
  return undefined;
}

/** Node's built-in modules, which npm refuses as new package names. */
const nodeCoreModules = new Set(
  // node:test and the like exist only with the prefix, so a package may take their bare name.
  builtinModules.filter((name) => !name.startsWith('_') && !name.startsWith('node:')),
);

export const npmNameRule =
  'npm package names are at most 214 characters of lower-case letters, digits, "-", "." and "_", not starting with ".", "_" or "-", and not a Node.js built-in module';

/** validate-npm-package-name's rules for new packages (scoped names are not made here). */
export function npmNameProblem(name: string): string | undefined {
  const refuse = (why: string) => `${JSON.stringify(name)} is not a valid npm package name: ${why}`;
  if (name === '') return refuse('it is empty');
  if (name.length > 214) return refuse('it is longer than 214 characters');
  if (name.startsWith('.') || name.startsWith('_')) return refuse('it starts with "." or "_"');
  // validate-npm-package-name 7 and later refuse a leading hyphen (npm would read it as a flag).
  if (name.startsWith('-')) return refuse('it starts with "-"');
  if (name !== name.trim()) return refuse('it has leading or trailing spaces');
  if (name.toLowerCase() !== name) return refuse('it has capital letters');
  if (/[~'!()*]/.test(name) || encodeURIComponent(name) !== name) return refuse('it has characters a URL would escape');
  if (name === 'node_modules' || name === 'favicon.ico') return refuse(`"${name}" is blacklisted by npm`);
  if (nodeCoreModules.has(name)) return refuse('it is the name of a Node.js built-in module');
  return undefined;
}

/** An npm package name made from the extension name: lower-case, no leading dot or underscore. */
export function packageNameOf(name: string): string {
  return name.toLowerCase().replace(/^[._]+/, '') || 'lambda-extension';
}

/** The prefix of the extension's settings variables: my-ext reads MY_EXT_*. */
export function settingsPrefixOf(name: string): string {
  return `${name.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_`.replace(/^(?=[^A-Z])/, 'EXT_');
}

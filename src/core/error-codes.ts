/**
 * Every stable error code a `CliError` can carry, with the one-line meaning
 * that docs/reference/errors.md spells out. Scripts and tests match on the
 * code, never on the message, so a code once published keeps its meaning.
 * Keep the list sorted; add a code next to its kin (the prefix names the area).
 */
export const errorCodes = {
  E_CANCELLED: 'Ctrl-C, SIGTERM or Esc at a prompt stopped the command; nothing was written',
  E_INTERNAL: 'a bug in create-lambda-extension, not a mistake of yours; please report it with the stack',
  // --- layer ---
  E_LAYER_NO_EXTENSIONS: 'the layer has no file at the top of extensions/, so Lambda would start nothing from it',
  E_LAYER_TOO_LARGE: "the layer is over Lambda's unzipped limit (or holds more entries than it could)",
  E_LAYER_UNPACK_FAILED: 'ext dev could not write the unpacked layer to its temporary folder',
  E_LAYER_ZIP_REFUSED: 'the layer zip is corrupt or unsafe to unpack (links out of the layer, duplicates, bombs)',
  E_LAYER_ZIP_UNREADABLE: 'the file is not a readable zip (truncated, not a zip at all)',
  E_USAGE: 'a flag or argument is missing, unknown or malformed',

  // --- build ---
  E_BUILD_BUNDLE_FAILED: 'esbuild could not bundle the TypeScript entry; its messages are printed above',
  E_BUILD_COMPILE_FAILED: "go build failed for an architecture; the compiler's messages are printed above",
  E_BUILD_GO_MISSING: 'go is not on PATH; ext build needs Go 1.21 or later for a Go extension',
  E_BUILD_GO_TOO_OLD: 'go.mod asks for a newer go than the one on PATH, and ext build downloads no toolchains',
  E_BUILD_TEMPORARY_FOLDER: 'no temporary folder could be made for the compiler (set TMPDIR to a writable folder)',
  E_BUILD_TOOL_UNRUNNABLE: 'go or tsc is there but could not be started',
  E_BUILD_TYPE_ERRORS: "the project's tsc found type errors; --no-typecheck builds anyway",
  E_BUILD_TYPESCRIPT_MISSING: 'the project has a tsconfig.json but typescript is not installed in it (npm install)',
  E_BUILD_WRITE_FAILED:
    'a built layer could not be written into --out (disk full, or the folder changed under the build)',

  // --- commands ---
  E_INSPECT_LAYER_BROKEN: 'ext inspect found errors: the zip would not work as an extension layer (findings above)',
  E_PUBLISH_TARGETS_FAILED: "some layer versions were not published; each failed target's error is printed above",

  // --- config ---
  E_CONFIG_INVALID: 'lambda-extension.json breaks its schema: a field is missing, unknown or of the wrong kind',
  E_CONFIG_MISSING: 'there is no lambda-extension.json in the project folder (--cwd)',
  E_CONFIG_NOT_JSON: 'lambda-extension.json is not valid JSON',
  E_CONFIG_OVERRIDE_INVALID:
    'a flag that overrides lambda-extension.json (--name, --entry, --extension-version, --node-version, --standalone) has a value it refuses',
  E_CONFIG_PROJECT_MISSING: 'the project folder given with --cwd does not exist',
  E_CONFIG_TOO_LARGE: 'lambda-extension.json is over 1 MiB or nests over 32 levels deep, so it is not read',
  E_CONFIG_UNREADABLE: 'lambda-extension.json exists but cannot be read (permissions, or it is a folder)',

  // --- pack ---
  E_PACK_LAYER_CHANGED: 'the layer folder changed while it was being zipped: another ext build wrote to the same --out',
  E_PACK_NODE_MISSING:
    "a standalone layer's bundled node is missing from the built layer (--no-build after a plain build)",
  E_PACK_NOT_BUILT: 'there is no built layer (no extensions/ folder) to zip: run ext build, or drop --no-build',
  E_PACK_VERIFY_FAILED:
    'the zip ext pack wrote failed its own checks, so it was not kept; the previous zip is unchanged',
  E_PACK_WRITE_FAILED: 'a zip could not be written into --out (disk full, permissions)',
  E_PACK_ZIPS_MISSING: "the project's layer zips are not in dist/ (ext inspect without a zip): run ext pack first",

  // --- zip ---
  E_ZIP_LAYER_ENTRY_INVALID:
    'the layer folder holds what a zip cannot carry: a broken symbolic link, a device or FIFO, or a link loop',
  E_ZIP_NOT_A_FILE: 'the path given as a zip is a folder, device, FIFO or socket',
  E_ZIP_NOT_FOUND: 'the zip file given does not exist',
  E_ZIP_SOURCE_DATE_EPOCH:
    'SOURCE_DATE_EPOCH is not whole seconds, or is outside the dates a zip can hold (1980 to 2043)',
  E_ZIP_TOO_LARGE: "the zip is larger than any layer zip can be (Lambda's unzipped limit plus headers)",
  E_ZIP_UNREADABLE: 'the zip file cannot be read (permissions, an I/O error)',

  // --- out ---
  E_OUT_NOT_OWNED:
    '--out holds a file or folder that ext build or ext pack did not write, or that changed since; it is left alone',
  E_OUT_REFUSED: '--out is the filesystem root, the project folder or a folder that holds it',
  E_OUT_UNREADABLE: 'something in --out cannot be read',
  E_OUT_UNWRITABLE: '--out is on a read-only filesystem or not writable',
} as const satisfies Record<`E_${string}`, string>;

export type ErrorCode = keyof typeof errorCodes;

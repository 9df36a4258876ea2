/**
 * Every stable error code a `CliError` can carry, with the one-line meaning
 * that docs/reference/errors.md spells out. Scripts and tests match on the
 * code, never on the message, so a code once published keeps its meaning.
 * Keep the list sorted; add a code next to its kin (the prefix names the area).
 */
export const errorCodes = {
  // --- add (ext add ci, ext add iac) ---
  E_ADD_FILES_EXIST: 'files ext add would write are already in the project; pass --force to replace them',
  E_ADD_KIND_UNKNOWN: 'the CI provider or IaC kind (ext add, create --ci or --iac) is not one that is generated',
  E_CANCELLED: 'Ctrl-C, SIGTERM or Esc at a prompt stopped the command; nothing was written',
  // --- create ---
  E_CREATE_ARCH_INVALID: '--arch names no architecture, or one that is not x86_64 or arm64',
  E_CREATE_DIRECTORY_MISSING: 'no project directory: pass [dir] or --name',
  E_CREATE_DIRECTORY_NOT_EMPTY: 'the project directory holds files; choose another, or pass --force to add to it',
  E_CREATE_DIRECTORY_UNUSABLE: 'the project directory cannot hold a project: a file, a broken link, unreadable',
  E_CREATE_EVENTS_INVALID: '--events is empty, unknown, or not the events the template always registers for',
  E_CREATE_FLAGS_CONFLICT: 'two flags that do not go together (--standalone or --module with the other language)',
  E_CREATE_LANGUAGE_UNKNOWN: '--lang is neither go nor ts',
  E_CREATE_MODULE_INVALID: '--module is not a Go module path that go mod init accepts',
  E_CREATE_NAME_INVALID: 'the extension name is not a valid file, npm package or Go module name',
  E_CREATE_NODE_VERSION_INVALID: '--node-version is not a Node.js major that a standalone layer can bundle',
  E_CREATE_NO_TERMINAL: '--interactive without a terminal to ask on',
  E_CREATE_TOOLKIT_PACK_FAILED: "npm pack of the toolkit, for the project's vendor/ folder, failed",
  E_INTERNAL: 'a bug in create-lambda-extension, not a mistake of yours; please report it with the stack',
  // --- layer ---
  E_LAYER_NO_EXTENSIONS: 'the layer has no file at the top of extensions/, so Lambda would start nothing from it',
  E_LAYER_TOO_LARGE: "the layer is over Lambda's unzipped limit (or holds more entries than it could)",
  E_LAYER_UNPACK_FAILED: 'ext dev could not write the unpacked layer to its temporary folder',
  E_LAYER_ZIP_REFUSED: 'the layer zip is corrupt or unsafe to unpack (links out of the layer, duplicates, bombs)',
  E_LAYER_ZIP_UNREADABLE: 'the file is not a readable zip (truncated, not a zip at all)',
  // --- rename ---
  E_RENAME_NAME_INVALID: 'the new name is not a valid extension or npm package name',
  E_RENAME_SAME_NAME: 'the extension already has that name',
  // --- templates (create and ext add write through them) ---
  E_TEMPLATE_FILE_APPEARED: 'a file appeared at a path being written; nothing was changed',
  E_TEMPLATE_PATH_BLOCKED: 'a folder, file or outward link stands where a template file or folder goes',
  E_TEMPLATE_STAGING_FAILED: 'the temporary folder the files are written into first cannot be made',
  E_TEMPLATE_UNKNOWN: '--template names no template for the language',
  E_TEMPLATE_WRITE_FAILED: 'moving the written files into place failed; nothing was changed',
  E_USAGE: 'a flag or argument is missing, unknown or malformed',
} as const satisfies Record<`E_${string}`, string>;

export type ErrorCode = keyof typeof errorCodes;

/**
 * Every stable error code a `CliError` can carry, with the one-line meaning
 * that docs/reference/errors.md spells out. Scripts and tests match on the
 * code, never on the message, so a code once published keeps its meaning.
 * Keep the list sorted; add a code next to its kin (the prefix names the area).
 */
export const errorCodes = {
  E_CANCELLED: 'Ctrl-C, SIGTERM or Esc at a prompt stopped the command; nothing was written',
  // --- dev / emulator ---
  E_DEV_BUILD_EMPTY: 'ext dev built the project but the build produced no layer',
  E_DEV_EXTENSION_FAILED: 'the extension failed in the emulator: the report lists its verdicts',
  E_DEV_HOST_UNSUPPORTED: 'ext dev cannot build on this machine: Lambda runs x86_64 and arm64 only; pass --layer',
  E_DEV_LAYER_MISSING: 'the --layer path does not exist',
  E_DEV_LAYER_UNREADABLE: 'the --layer zip cannot be unpacked',
  E_DEV_NODE_NOT_APPLICABLE: '--node does not apply to this run (a --layer, a Go or a standalone layer)',
  E_DEV_NODE_NOT_EXECUTABLE: 'the --node path is not an executable node binary',
  E_DEV_NODE_UNAVAILABLE: "the node of the project's runtime could not be fetched for ext dev",
  E_EMULATOR_BINFMT_MISSING: "--emulation binfmt: no binfmt_misc handler runs the layer's architecture",
  E_EMULATOR_CONCURRENCY: "managedInstances.maxConcurrency is outside Lambda's range per execution environment",
  E_EMULATOR_EMULATION_OFF: 'the layer is for another architecture and --emulation off forbids running it under qemu',
  E_EMULATOR_LAYER_MISSING: 'the layer directory does not exist or is not a folder',
  E_EMULATOR_QEMU_MISSING: "qemu-user, needed to run the layer's foreign binaries, is not installed",
  E_EMULATOR_SPECIAL_FILE: 'the layer folder holds a device, socket or pipe, which no layer zip can hold',
  E_EMULATOR_SYSROOT_MISSING: 'the foreign libraries a dynamic binary of the layer needs under qemu are missing',
  E_INTERNAL: 'a bug in create-lambda-extension, not a mistake of yours; please report it with the stack',
  // --- layer ---
  E_LAYER_NO_EXTENSIONS: 'the layer has no file at the top of extensions/, so Lambda would start nothing from it',
  E_LAYER_TOO_LARGE: "the layer is over Lambda's unzipped limit (or holds more entries than it could)",
  E_LAYER_UNPACK_FAILED: 'ext dev could not write the unpacked layer to its temporary folder',
  E_LAYER_ZIP_REFUSED: 'the layer zip is corrupt or unsafe to unpack (links out of the layer, duplicates, bombs)',
  E_LAYER_ZIP_UNREADABLE: 'the file is not a readable zip (truncated, not a zip at all)',
  E_USAGE: 'a flag or argument is missing, unknown or malformed',
} as const satisfies Record<`E_${string}`, string>;

export type ErrorCode = keyof typeof errorCodes;

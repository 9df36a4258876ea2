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
} as const satisfies Record<`E_${string}`, string>;

export type ErrorCode = keyof typeof errorCodes;

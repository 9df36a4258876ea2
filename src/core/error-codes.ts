/**
 * Every stable error code a `CliError` can carry, with the one-line meaning
 * that docs/reference/errors.md spells out. Scripts and tests match on the
 * code, never on the message, so a code once published keeps its meaning.
 * Keep the list sorted; add a code next to its kin (the prefix names the area).
 */
export const errorCodes = {
  E_CANCELLED: 'Ctrl-C, SIGTERM or Esc at a prompt stopped the command; nothing was written',
  E_INTERNAL: 'a bug in create-lambda-extension, not a mistake of yours; please report it with the stack',
  E_USAGE: 'a flag or argument is missing, unknown or malformed',
} as const satisfies Record<`E_${string}`, string>;

export type ErrorCode = keyof typeof errorCodes;

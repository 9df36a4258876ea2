/**
 * Text that came from outside (zip entry names, extension output, config
 * values, request bodies) is printed through these, so that it can neither
 * drive the terminal (ESC sequences, a bare CR that repaints a line, bidi
 * overrides that reorder it) nor flood it.
 */

// C0 controls except tab and newline, DEL, C1 controls, and the Unicode
// format characters that reorder or hide text (bidi embeddings, overrides
// and isolates, zero-width marks, line and paragraph separators).
// eslint-disable-next-line no-control-regex
const unsafeCharacters = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/gu;
// The same and newlines; a tab stays, as Lambda's own log lines separate their fields with tabs.
// eslint-disable-next-line no-control-regex
const unsafeCharactersAndNewlines = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/gu;

function escapeCharacter(character: string): string {
  const code = character.codePointAt(0) ?? 0;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Escapes every character that could move the cursor or restyle the terminal; keeps tabs and newlines. */
export function escapeControlCharacters(text: string): string {
  return text.replace(unsafeCharacters, escapeCharacter);
}

/**
 * One line of untrusted text, safe to print: control characters (a tab aside) and newlines
 * escaped, and cut to `maximumLength` characters with a visible marker that
 * says how much was left out.
 */
export function printableLine(text: string, maximumLength = 500): string {
  const cut = text.length > maximumLength;
  const kept = cut ? text.slice(0, maximumLength) : text;
  const escaped = kept.replace(unsafeCharactersAndNewlines, escapeCharacter);
  return cut ? `${escaped}… (${text.length - maximumLength} more characters)` : escaped;
}

// eslint-disable-next-line no-control-regex
const firstUnsafeCharacter = /[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/u;

/**
 * Why a name or path someone typed cannot be used, or undefined: it holds a
 * control or invisible formatting character. A terminal prompt lets Ctrl-U
 * or Ctrl-W through as \x15 and \x17, which would name a folder that no
 * printed command can reach.
 */
export function controlCharacterProblem(text: string): string | undefined {
  const match = firstUnsafeCharacter.exec(text);
  return match === null ? undefined : `it contains the control character ${escapeCharacter(match[0])}`;
}

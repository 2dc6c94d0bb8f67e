/**
 * The one character policy for text the service accepts, whichever way it arrives (GraphQL arguments, FHIR
 * elements and search parameters, HL7 fields, CSV cells, command-line values). Pure, so the matching core's record checks
 * (validate-record.ts) apply it to CSV rows offline exactly as the service does. Refused everywhere:
 * - C0 controls, DEL and C1 controls (NUL included): PostgreSQL cannot store NUL, and the others forge log lines
 *   and terminal output. Tab and line breaks are allowed only where `lineBreaks` says so (free text, reasons).
 * - Bidirectional controls (U+061C, U+200E/F, U+202A-E, U+2066-9): they make text read differently from what it is.
 * - Invisible format characters: zero-width space, word joiner and invisible operators (U+200B, U+2060-4),
 *   the byte-order mark (U+FEFF), the Mongolian vowel separator (U+180E), the line and paragraph separators
 *   (U+2028/9), and the tag characters (U+E0000-E007F). Zero-width (non-)joiners stay: some scripts need them.
 * - Unpaired UTF-16 surrogates: not Unicode characters at all (and not storable as text).
 */
export interface TextPolicyOptions {
  /** Tab, line feed and carriage return are allowed (multi-line free text); default false. */
  lineBreaks?: boolean;
}

/** What is wrong with one text value, in the words every channel reports it with. */
export interface TextProblem {
  code: 'INVALID_CHARACTERS';
  message: string;
}

const LINE_BREAKS = /[\t\n\r]/;
const CONTROLS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;
const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/;
const INVISIBLE = /[\u180E\u200B\u2028\u2029\u2060-\u2064\uFEFF]|\uDB40[\uDC00-\uDC7F]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The messages of the policy, one per kind of character, so every channel says the same. */
export const TEXT_PROBLEM_MESSAGES = {
  control: 'must not contain control characters',
  lineBreak: 'must not contain tabs or line breaks',
  bidi: 'must not contain bidirectional control characters',
  invisible: 'must not contain invisible formatting characters',
  surrogate: 'is not valid Unicode: it contains an unpaired UTF-16 surrogate',
} as const;

/** What is wrong with the characters of `value` under the policy, or null when it passes. */
export function textProblem(value: string, options: TextPolicyOptions = {}): TextProblem | null {
  const message = textProblemMessage(value, options);
  return message ? { code: 'INVALID_CHARACTERS', message } : null;
}

function textProblemMessage(value: string, options: TextPolicyOptions): string | null {
  // Plain printable ASCII is by far the common case and passes without the other checks.
  if (/^[\u0020-\u007E]*$/.test(value)) return null;
  if (LONE_SURROGATE.test(value)) return TEXT_PROBLEM_MESSAGES.surrogate;
  if (CONTROLS.test(value)) return TEXT_PROBLEM_MESSAGES.control;
  if (!options.lineBreaks && LINE_BREAKS.test(value)) return TEXT_PROBLEM_MESSAGES.lineBreak;
  if (BIDI_CONTROLS.test(value)) return TEXT_PROBLEM_MESSAGES.bidi;
  if (INVISIBLE.test(value)) return TEXT_PROBLEM_MESSAGES.invisible;
  return null;
}

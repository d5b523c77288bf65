/**
 * Making echoed values inert. A value a user (or a node) supplied must not change what a log line
 * does or how it reads: a newline followed by `::error::` would be a workflow command on the
 * runner (a CLI run inside a `run:` step included), other control characters rewrite the
 * terminal, and Unicode bidi controls (U+202A-U+202E, U+2066-U+2069) reorder what a reviewer
 * sees ("Trojan Source"). Every such character is written as a visible escape instead.
 */

/**
 * C0/C1 controls and DEL, the bidi embeddings/overrides/isolates and marks (U+061C, U+200E,
 * U+200F), the Unicode line/paragraph separators and the BOM.
 */
/* eslint-disable no-control-regex -- matching control characters is the point */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;
const UNSAFE_KEEP_NEWLINES =
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;
/* eslint-enable no-control-regex */

const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(c: string): string {
  return SHORT[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** Values longer than this are cut in messages (a 1 MB input does not belong in a log line). */
export const INERT_MAX_CHARS = 200;

function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}...(${text.length - max} more characters)`;
}

/**
 * A user value, quoted for a message: `"v1.34\u202e"`. Strings are double-quoted with `"` and
 * `\` escaped (JSON style) and every unsafe character escaped; other values are rendered as
 * JSON. The result has no line break, so it can never start a line of its own.
 */
export function inert(value: unknown, max = INERT_MAX_CHARS): string {
  if (typeof value === 'string')
    return `"${clip(value, max).replace(/["\\]/g, '\\$&').replace(UNSAFE, escapeChar)}"`;
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return clip(text, max).replace(UNSAFE, escapeChar);
}

/**
 * Free text from elsewhere (a node's stderr, a Kubernetes condition message, a library's error)
 * embedded in one of our messages: unquoted, single line, unsafe characters escaped.
 */
export function inertText(text: string, max = 1000): string {
  return clip(text, max).replace(UNSAFE, escapeChar);
}

/**
 * A whole message about to be written to a log or terminal, as a last line of defence: line
 * breaks are kept (messages may be multi-line by design), every other unsafe character is
 * escaped, and a line that would start with `::` (a workflow command, even after leading
 * blanks) is quoted so the runner reads it as text.
 */
export function inertLines(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(UNSAFE_KEEP_NEWLINES, escapeChar)
    .split('\n')
    .map((line) => (/^\s*::/.test(line) ? inert(line, Number.MAX_SAFE_INTEGER) : line))
    .join('\n');
}

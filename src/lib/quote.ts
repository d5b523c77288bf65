/**
 * Shell quoting. Every remote command is built from quoted arguments: a value can never
 * reach a shell unquoted, whatever it contains (quotes, `$()`, backticks, newlines, unicode).
 *
 * POSIX single quotes preserve every byte literally except `'` itself, which is written as
 * `'\''` (close, escaped quote, reopen). NUL cannot travel in an argv string at all, so it is
 * refused rather than silently truncated by the remote shell.
 */

export class QuotingError extends Error {
  override name = 'QuotingError';
}

export function shellQuote(value: string): string {
  if (value.includes('\0')) throw new QuotingError('a shell argument cannot contain a NUL byte');
  // Plain words stay readable in logs; everything else is single-quoted.
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Joins argv into one command line, every element quoted. */
export function quoteArgv(argv: readonly string[]): string {
  if (argv.length === 0) throw new QuotingError('a command needs at least one word');
  return argv.map(shellQuote).join(' ');
}

/** A fragment of shell that is already safe: produced only by `sh` or `raw` below. */
export class ShellFragment {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

type Interpolation = string | number | ShellFragment | readonly (string | number)[];

/**
 * Tagged template for shell: the literal parts are trusted (they are in our source code),
 * every interpolated value is quoted (arrays become several quoted words).
 *
 *   sh`rke2 etcd-snapshot save --name ${name}`
 */
export function sh(strings: TemplateStringsArray, ...values: Interpolation[]): ShellFragment {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += renderInterpolation(value) + (strings[i + 1] ?? '');
  });
  return new ShellFragment(out);
}

function renderInterpolation(value: Interpolation): string {
  if (value instanceof ShellFragment) return value.text;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new QuotingError(`cannot interpolate ${value} into a command`);
    return String(value);
  }
  if (Array.isArray(value)) return value.map((v) => shellQuote(String(v))).join(' ');
  return shellQuote(value as string);
}

/**
 * A bash script run as one remote command, with strict mode on. The script text is passed
 * as a single quoted argument to `bash -c`, so the login shell never parses it.
 */
export function bashScript(lines: readonly (string | ShellFragment)[]): string {
  const body = ['set -euo pipefail', ...lines.map(String)].join('\n');
  return quoteArgv(['bash', '-c', body]);
}

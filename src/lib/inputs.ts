import { InputError } from './errors.js';
import { inert } from './inert.js';

/**
 * Shared input parsers with @actions/core semantics (trimmed strings, YAML 1.2 booleans,
 * numbers that throw instead of silently defaulting). They read through an `InputSource`,
 * so the action (core.getInput) and the CLI (flags) parse identically.
 */
export type InputSource = (name: string) => string;

export function inputString(get: InputSource, name: string, fallback?: string): string {
  const value = get(name).trim();
  if (value) return value;
  if (fallback !== undefined) return fallback;
  throw new InputError(name, 'is required and was not supplied');
}

export function inputOptional(get: InputSource, name: string): string | undefined {
  const value = get(name).trim();
  return value === '' ? undefined : value;
}

const TRUE = ['true', 'True', 'TRUE'];
const FALSE = ['false', 'False', 'FALSE'];

export function inputBoolean(get: InputSource, name: string, fallback: boolean): boolean {
  const value = get(name).trim();
  if (value === '') return fallback;
  if (TRUE.includes(value)) return true;
  if (FALSE.includes(value)) return false;
  throw new InputError(name, `must be true or false (got ${inert(value)})`);
}

export function inputInteger(
  get: InputSource,
  name: string,
  fallback: number,
  range: { min?: number; max?: number } = {},
): number {
  const value = get(name).trim();
  if (value === '') return fallback;
  if (!/^-?\d+$/.test(value)) throw new InputError(name, `must be a whole number (got ${inert(value)})`);
  const n = Number(value);
  if (range.min !== undefined && n < range.min)
    throw new InputError(name, `must be at least ${range.min} (got ${n})`);
  if (range.max !== undefined && n > range.max)
    throw new InputError(name, `must be at most ${range.max} (got ${n})`);
  return n;
}

/** Seconds, from `300`, `90s`, `5m` or `1h`. Negative or zero durations are refused. */
export function inputDuration(get: InputSource, name: string, fallbackSeconds: number): number {
  const value = get(name).trim();
  if (value === '') return fallbackSeconds;
  const match = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(value);
  if (!match)
    throw new InputError(name, `must be a positive duration like 300, 90s, 5m or 1h (got ${inert(value)})`);
  const seconds = Number(match[1]) * ({ s: 1, m: 60, h: 3600 }[match[2] ?? 's'] ?? 1);
  if (!(seconds > 0)) throw new InputError(name, `must be greater than zero (got ${inert(value)})`);
  return seconds;
}

/** A list from one item per line and/or comma-separated items; blanks and `#` comments dropped. */
export function inputList(get: InputSource, name: string): string[] {
  return get(name)
    .split(/\r?\n/)
    .filter((line) => !line.trim().startsWith('#'))
    .flatMap((line) => line.split(','))
    .map((item) => item.trim())
    .filter(Boolean);
}

export function inputChoice<T extends string>(
  get: InputSource,
  name: string,
  choices: readonly T[],
  fallback: T,
): T {
  const value = get(name).trim();
  if (value === '') return fallback;
  if (!(choices as readonly string[]).includes(value)) {
    throw new InputError(name, `must be one of ${choices.join(', ')} (got ${inert(value)})`);
  }
  return value as T;
}

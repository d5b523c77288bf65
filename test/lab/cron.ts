/**
 * Cron for the lab's Velero Schedule simulation: the 5-field syntax Velero parses with
 * robfig/cron (standard parser: minute hour day-of-month month day-of-week; `*`, lists, ranges,
 * steps, `@every <duration>`, `@yearly`... descriptors), evaluated in UTC like the Velero server
 * in its container. Velero names a scheduled backup `<schedule>-<YYYYMMDDhhmmss>`
 * (vmware-tanzu/velero pkg/apis/velero/v1/schedule_types.go TimestampedName).
 */

interface Field {
  min: number;
  max: number;
}

const FIELDS: Field[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12 },
  { min: 0, max: 6 },
];

const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

export interface CronSchedule {
  /** The first run strictly after `after`. */
  next(after: Date): Date;
}

function parseField(text: string, f: Field): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`failed to parse int from ${stepText}`);
    let lo: number;
    let hi: number;
    if (range === '*' || range === '?') {
      lo = f.min;
      hi = f.max;
    } else if (range!.includes('-')) {
      const [a, b] = range!.split('-').map(Number) as [number, number];
      lo = a;
      hi = b;
    } else {
      lo = Number(range);
      hi = stepText === undefined ? lo : f.max;
    }
    if (!Number.isInteger(lo) || !Number.isInteger(hi)) throw new Error(`failed to parse int from ${range}`);
    if (lo < f.min || hi > f.max || lo > hi)
      throw new Error(`end of range (${hi}) above maximum (${f.max}): ${part}`);
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

function everyMs(text: string): number {
  let total = 0;
  let matched = false;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s)/g)) {
    matched = true;
    const n = Number(m[1]);
    total += m[2] === 'h' ? n * 3_600_000 : m[2] === 'm' ? n * 60_000 : m[2] === 's' ? n * 1000 : n;
  }
  if (!matched || total < 1000) throw new Error(`failed to parse duration ${text}`);
  return total;
}

/** Parses a Velero schedule; throws with robfig/cron's kind of message when it is invalid. */
export function parseCron(expr: string): CronSchedule {
  const trimmed = expr.trim();
  if (!trimmed) throw new Error('empty spec string');
  if (trimmed.startsWith('@every ')) {
    const ms = everyMs(trimmed.slice(7).trim());
    return { next: (after) => new Date(Math.floor(after.getTime() / 1000) * 1000 + ms) };
  }
  const spec = DESCRIPTORS[trimmed] ?? trimmed;
  const parts = spec.split(/\s+/);
  if (parts.length !== 5)
    throw new Error(`expected exactly 5 fields, found ${parts.length}: [${parts.join(' ')}]`);
  const [min, hour, dom, month, dow] = parts.map((p, i) => parseField(p, FIELDS[i]!)) as [
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
  ];
  const domStar = parts[2] === '*' || parts[2] === '?';
  const dowStar = parts[4] === '*' || parts[4] === '?';
  return {
    next(after) {
      const t = new Date(after.getTime());
      t.setUTCSeconds(0, 0);
      t.setUTCMinutes(t.getUTCMinutes() + 1);
      // At most ~5 years of minutes; far more than any sane schedule needs.
      for (let i = 0; i < 5 * 366 * 24 * 60; i++) {
        const dayOk =
          domStar || dowStar
            ? dom.has(t.getUTCDate()) && dow.has(t.getUTCDay())
            : dom.has(t.getUTCDate()) || dow.has(t.getUTCDay());
        if (
          month.has(t.getUTCMonth() + 1) &&
          dayOk &&
          hour.has(t.getUTCHours()) &&
          min.has(t.getUTCMinutes())
        )
          return t;
        t.setUTCMinutes(t.getUTCMinutes() + 1);
      }
      throw new Error('no run time found');
    },
  };
}

export function scheduleBackupName(schedule: string, at: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${schedule}-${at.getUTCFullYear()}${p(at.getUTCMonth() + 1)}${p(at.getUTCDate())}${p(at.getUTCHours())}${p(at.getUTCMinutes())}${p(at.getUTCSeconds())}`;
}

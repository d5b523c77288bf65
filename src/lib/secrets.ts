/**
 * Secret masking and redaction. Every secret is registered the moment it is read: the
 * registration calls the front end's mask hook (core.setSecret in an action) and from then
 * on `redact` removes it from any captured text before it reaches a log, summary, report or
 * issue.
 */

export const REDACTED = '***';

export class SecretRegistry {
  private readonly values = new Set<string>();

  constructor(private readonly onMask: (value: string) => void = () => {}) {}

  /**
   * Registers a secret (and each line of a multi-line one, as the runner does). `lines` picks
   * which lines of a multi-line value count as secrets on their own: a sensitive document
   * (cloud-init with a token in it) must not turn `runcmd:` into a masked word everywhere.
   */
  add(secret: string | undefined | null, options: { lines?: (line: string) => boolean } = {}): void {
    if (!secret) return;
    const lines = secret
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => !options.lines || options.lines(l));
    const parts = [secret.trim(), ...lines];
    for (const part of parts) {
      // Very short fragments (a lone "-" line) would shred ordinary output.
      if (part.length < 4 || this.values.has(part)) continue;
      this.values.add(part);
      this.onMask(part);
    }
  }

  get size(): number {
    return this.values.size;
  }

  redact(text: string): string {
    if (this.values.size === 0 || !text) return text;
    // Longest first, so a secret that contains another is removed whole.
    const ordered = [...this.values].sort((a, b) => b.length - a.length);
    let out = text;
    for (const value of ordered) out = out.split(value).join(REDACTED);
    return out;
  }

  /** Deep-redacts every string in a JSON-like value (reports, outputs). */
  redactDeep<T>(value: T): T {
    if (typeof value === 'string') return this.redact(value) as T;
    if (Array.isArray(value)) return value.map((v) => this.redactDeep(v)) as T;
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.redactDeep(v)])) as T;
    }
    return value;
  }
}

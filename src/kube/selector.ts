import { assertIdentifier } from '../lib/identifiers.js';

/**
 * Equality-based label selectors (`k=v`, `k==v`, `k!=v`, `k`, `!k`), matched on the runner.
 * The probe reads each namespace's pods once and the evaluator filters them, so adding a
 * system-pod requirement costs no extra kubectl call.
 */
export type SelectorTerm =
  { key: string; op: 'eq' | 'neq'; value: string } | { key: string; op: 'exists' | 'absent' };

export function parseSelector(selector: string, field = 'selector'): SelectorTerm[] {
  const plain = selector.replace(/==/g, '=');
  const terms = plain.split(',').map((t) => t.trim());
  // `!key` is valid kubectl syntax but not in the shared pattern; check the rest with it.
  assertIdentifier('labelSelector', field, terms.map((t) => t.replace(/^!/, '')).join(','));
  return terms.map((term): SelectorTerm => {
    if (term.startsWith('!')) return { key: term.slice(1), op: 'absent' };
    const neq = term.indexOf('!=');
    if (neq > 0) return { key: term.slice(0, neq), op: 'neq', value: term.slice(neq + 2) };
    const eq = term.indexOf('=');
    if (eq > 0) return { key: term.slice(0, eq), op: 'eq', value: term.slice(eq + 1) };
    return { key: term, op: 'exists' };
  });
}

export function matchesSelector(labels: Record<string, string> | undefined, terms: SelectorTerm[]): boolean {
  const l = labels ?? {};
  return terms.every((t) => {
    const has = Object.prototype.hasOwnProperty.call(l, t.key);
    switch (t.op) {
      case 'eq':
        return has && l[t.key] === t.value;
      case 'neq':
        return !has || l[t.key] !== t.value;
      case 'exists':
        return has;
      case 'absent':
        return !has;
    }
  });
}

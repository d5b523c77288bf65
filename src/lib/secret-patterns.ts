import { REDACTED } from './secrets.js';

/**
 * A backstop for text that leaves the runner for good (an issue body, a comment): the
 * SecretRegistry only knows the secrets this process read, and a report written by another
 * step may carry one it never saw. These are the shapes of the secrets this toolkit handles:
 * private keys (the SSH key), GitHub tokens, AWS-style access key IDs (Hetzner Object Storage
 * keys follow no public shape, so they rely on the registry), and RKE2/K3s join tokens
 * (`K10<hash>::<user>:<password>`).
 */
const SECRET_PATTERNS: RegExp[] = [
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g,
  /\bgh[pousr]_[A-Za-z0-9]{30,255}\b/g,
  /\bgithub_pat_[A-Za-z0-9_]{22,255}\b/g,
  /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g,
  /\bK10[0-9a-f]{16,}::[A-Za-z0-9_.-]+:[^\s'"`]+/g,
];

export function redactSecretPatterns(text: string): string {
  return SECRET_PATTERNS.reduce((out, re) => out.replace(re, REDACTED), text);
}

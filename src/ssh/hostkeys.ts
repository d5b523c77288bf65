import { createHash, createHmac } from 'node:crypto';

/**
 * Host-key pinning. Keys come from the inventory's `host_keys` (OpenSSH public key lines the
 * module generates and injects through cloud-init) or from a known_hosts text. We compare the
 * raw key blob the server presents, which is what a fingerprint summarises.
 */

const KEY_TYPES: Record<string, readonly string[]> = {
  // key type in the public key line -> host key algorithms that prove possession of it
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

export const SUPPORTED_HOST_KEY_TYPES = Object.keys(KEY_TYPES);

export interface HostKey {
  type: string;
  blob: Buffer;
}

export class HostKeyError extends Error {
  override name = 'HostKeyError';
}

/** Parses `ssh-ed25519 AAAA... [comment]`; throws on anything else. */
export function parseHostKey(line: string): HostKey {
  const [type, data] = line.trim().split(/\s+/);
  if (!type || !data || !(type in KEY_TYPES)) {
    throw new HostKeyError(
      `not an OpenSSH public key line of a supported type (${SUPPORTED_HOST_KEY_TYPES.join(', ')})`,
    );
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data)) throw new HostKeyError('the key data is not base64');
  const blob = Buffer.from(data, 'base64');
  // The blob starts with its own type string: a pasted key of another type is caught here.
  const nameLength = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  if (nameLength < 0 || blob.subarray(4, 4 + nameLength).toString() !== type) {
    throw new HostKeyError(`the key data does not encode a ${type} key`);
  }
  return { type, blob };
}

/** SHA256 fingerprint exactly as `ssh-keygen -lf` prints it. */
export function fingerprint(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** Host-key algorithms to offer so the server proves a key we actually pinned. */
export function hostKeyAlgorithms(keys: readonly HostKey[]): string[] {
  return [...new Set(keys.flatMap((k) => KEY_TYPES[k.type] ?? []))];
}

/** True when the presented key blob equals one of the pinned keys. */
export function matchesPinned(presented: Buffer, pinned: readonly HostKey[]): boolean {
  return pinned.some((k) => k.blob.equals(presented));
}

/**
 * Reads the keys for `host` (and `port`) from known_hosts text: plain and `[host]:port`
 * patterns, comma lists and hashed (`|1|salt|hash`) entries. Markers (@revoked,
 * @cert-authority) and negated patterns are not supported and are skipped.
 */
export function knownHostsKeys(text: string, host: string, port = 22): HostKey[] {
  const wanted = port === 22 ? host : `[${host}]:${port}`;
  const keys: HostKey[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('@')) continue;
    const [hosts, ...rest] = line.split(/\s+/);
    if (!hosts || rest.length < 2) continue;
    if (!hosts.split(',').some((pattern) => hostPatternMatches(pattern, wanted))) continue;
    try {
      keys.push(parseHostKey(rest.join(' ')));
    } catch {
      // A line of an unsupported key type for a host that also has a supported one.
    }
  }
  return keys;
}

function hostPatternMatches(pattern: string, wanted: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(wanted).digest('base64');
    return digest === hash;
  }
  return pattern === wanted;
}

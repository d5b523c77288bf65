// ssh2 is CommonJS; node's ESM loader cannot see `utils` as a named export.
import ssh2 from 'ssh2';
import { InputError } from '../lib/errors.js';
import { inertText } from '../lib/inert.js';

export type SshKeyProblem = 'unparseable' | 'not-private' | 'encrypted' | 'bad-passphrase';

/** A private key that cannot be used, found before any connection (the input is named). */
export class SshKeyError extends InputError {
  override name = 'SshKeyError';
  constructor(
    field: string,
    readonly problem: SshKeyProblem,
    reason: string,
  ) {
    super(field, reason);
  }
}

export interface KeyInputs {
  /** Input carrying the key, e.g. `ssh-key` (or a CLI flag). */
  key: string;
  /** Input carrying the passphrase, e.g. `ssh-key-passphrase`. */
  passphrase: string;
}

/**
 * Parses a private key with ssh2's own parser - the one the connection will use - so a key that
 * cannot work fails here, at once and named, instead of as "authentication failed" on every node
 * until the timeout. Returns the key type (e.g. `ssh-ed25519`).
 */
export function checkPrivateKey(
  key: string,
  passphrase: string | undefined,
  names: KeyInputs = { key: 'ssh-key', passphrase: 'ssh-key-passphrase' },
): string {
  const parsed = ssh2.utils.parseKey(key, passphrase);
  if (parsed instanceof Error) {
    const why = parsed.message;
    if (/encrypted/i.test(why) && /no passphrase/i.test(why))
      throw new SshKeyError(
        names.key,
        'encrypted',
        `the key is passphrase-protected and no ${names.passphrase} was given`,
      );
    if (/bad passphrase|decrypt/i.test(why))
      throw new SshKeyError(
        names.passphrase,
        'bad-passphrase',
        `does not decrypt ${names.key} (${inertText(why)})`,
      );
    throw new SshKeyError(
      names.key,
      'unparseable',
      `is not a private key ssh2 can read (${inertText(why)}); expected an OpenSSH or PEM private key`,
    );
  }
  const first = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!first || !first.isPrivateKey())
    throw new SshKeyError(names.key, 'not-private', 'holds a public key; give the private key');
  return first.type;
}

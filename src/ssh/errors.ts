/**
 * Typed SSH failures, so every caller (health check, snapshot, rollback preflight) can tell what
 * may heal (a node rebooting: retry) from what cannot within a run (a wrong host key, a refused
 * key: stop and say so). Messages name the node; user values in them are inert.
 */
export type SshFailureKind =
  /** The server presented a host key that matches none of the pinned ones: possibly an attack. */
  | 'host-key-mismatch'
  /** The server refused our key (or the user). */
  | 'auth-refused'
  /** No pinned host key to verify against (and verification not explicitly skipped). */
  | 'no-pinned-key'
  /** Refused, reset, timed out, lost: the node may come back. */
  | 'unreachable'
  /** The connection is closed or a command could not be started on it. */
  | 'channel';

export class SshError extends Error {
  override name = 'SshError';
  constructor(
    readonly host: string,
    message: string,
    readonly retryable: boolean,
    readonly kind: SshFailureKind = retryable ? 'unreachable' : 'auth-refused',
  ) {
    super(`${host}: ${message}`);
  }
}

export class HostKeyMismatchError extends SshError {
  override name = 'HostKeyMismatchError';
  constructor(
    host: string,
    /** SHA256 fingerprint of the key the server presented (`ssh-keygen -lf` format), if seen. */
    readonly presented: string | undefined,
  ) {
    super(
      host,
      `host key verification failed${presented ? ` (the server presented ${presented})` : ''}: it matches none of the pinned keys. ` +
        'Nothing was run. If the node was rebuilt, update its host_keys; otherwise treat this as a possible attack.',
      false,
      'host-key-mismatch',
    );
  }
}

export class AuthRefusedError extends SshError {
  override name = 'AuthRefusedError';
  constructor(
    host: string,
    readonly user: string,
  ) {
    super(
      host,
      `authentication as ${user} was refused: the node does not accept this SSH key (check ssh-key and the node's authorized_keys)`,
      false,
      'auth-refused',
    );
  }
}

/** Failures that cannot heal during a run: retrying only repeats them (and a mismatch may be an attack). */
export function isPermanentSshFailure(error: unknown): error is SshError {
  return error instanceof SshError && !error.retryable;
}

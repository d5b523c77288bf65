/** Where and how to reach one node. */
export interface SshTarget {
  /** Node name, used in results and messages. */
  name: string;
  address: string;
  port: number;
  user: string;
  /**
   * Pinned OpenSSH public key lines. Verification is mandatory: an empty list is an error
   * unless `insecureSkipHostKeyVerification` is set (an explicit, loudly warned opt-out).
   */
  hostKeys: readonly string[];
  insecureSkipHostKeyVerification?: boolean;
  /** Reach this node through a jump host (its own host key is verified separately). */
  bastion?: SshTarget | null;
}

export interface SshCredentials {
  privateKey: string | Buffer;
  passphrase?: string;
}

export interface ConnectOptions {
  /** Handshake + auth time limit per attempt. */
  readyTimeoutMs?: number;
  /** Attempts in total (nodes reboot during upgrades). */
  attempts?: number;
  /** First backoff delay; doubles each attempt, with jitter, capped at maxBackoffMs. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  keepaliveIntervalMs?: number;
}

export interface ExecOptions {
  /** Kill the command and report timedOut after this long. */
  timeoutMs?: number;
  /** Bytes kept per stream; the rest is dropped and `truncated` set. */
  maxOutputBytes?: number;
  /** Data written to the command's stdin, then closed. */
  stdin?: string | Buffer;
}

export interface ExecResult {
  host: string;
  /** The command as run, with secrets redacted (safe to log). */
  command: string;
  /** Exit code, or null when the command was killed by a signal or timed out. */
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** True when either stream exceeded maxOutputBytes. */
  truncated: boolean;
  timedOut: boolean;
  durationMs: number;
}

/** One open connection to one node. */
export interface RemoteShell {
  readonly target: SshTarget;
  /** SHA256 fingerprint of the verified host key, when the transport knows it. */
  readonly hostKeyFingerprint?: string | undefined;
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  close(): void;
}

import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import type { Duplex } from 'node:stream';
import pRetry, { AbortError } from 'p-retry';
import { hostKeyAlgorithms, fingerprint, matchesPinned, parseHostKey, type HostKey } from './hostkeys.js';
import type {
  ConnectOptions,
  ExecOptions,
  ExecResult,
  RemoteShell,
  SshCredentials,
  SshTarget,
} from './types.js';
import { AuthRefusedError, HostKeyMismatchError, SshError } from './errors.js';
import { quoteArgv } from '../lib/quote.js';
import { SecretRegistry } from '../lib/secrets.js';
import { silentLogger, type Logger } from '../lib/logger.js';
import { errorMessage } from '../lib/errors.js';
import { inertText } from '../lib/inert.js';

export const DEFAULT_EXEC_TIMEOUT_MS = 5 * 60_000;
export const DEFAULT_MAX_OUTPUT_BYTES = 4 * 1024 * 1024;

export { SshError, HostKeyMismatchError, AuthRefusedError, isPermanentSshFailure } from './errors.js';

export interface ConnectDeps {
  credentials: SshCredentials;
  logger?: Logger;
  secrets?: SecretRegistry;
  options?: ConnectOptions;
}

/**
 * Opens one authenticated, host-key-verified connection to `target`, retrying transient
 * failures (refused, reset, timeout) with jittered exponential backoff. A wrong host key or a
 * rejected login fails at once: retrying cannot fix either, and a wrong key may be an attack.
 */
export async function connect(target: SshTarget, deps: ConnectDeps): Promise<RemoteShell> {
  const logger = deps.logger ?? silentLogger;
  const opts = deps.options ?? {};
  const attempts = Math.max(1, opts.attempts ?? 4);
  return pRetry(
    async () => {
      try {
        return await connectOnce(target, deps);
      } catch (error) {
        if (error instanceof SshError && !error.retryable) throw new AbortError(error);
        throw error;
      }
    },
    {
      retries: attempts - 1,
      factor: 2,
      minTimeout: opts.minBackoffMs ?? 1000,
      maxTimeout: opts.maxBackoffMs ?? 15_000,
      randomize: true,
      onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
        if (retriesLeft > 0) {
          logger.info(
            `${target.name}: connect attempt ${attemptNumber} of ${attempts} failed (${errorMessage(error)}); retrying`,
          );
        }
      },
    },
  );
}

function verifierFor(
  target: SshTarget,
  logger: Logger,
): { algorithms?: string[]; verify: (key: Buffer) => boolean } {
  if (target.insecureSkipHostKeyVerification) {
    logger.warning(
      `${target.name}: host key verification is DISABLED (insecure-skip-host-key-verification). ` +
        'Anyone on the path can impersonate this node and read what the toolkit sends. Pin host keys instead.',
    );
    return { verify: () => true };
  }
  if (target.hostKeys.length === 0) {
    throw new SshError(
      target.name,
      'no host key to verify against: give host_keys in the inventory or a known_hosts input ' +
        '(or, knowingly, opt out with insecure-skip-host-key-verification)',
      false,
      'no-pinned-key',
    );
  }
  let pinned: HostKey[];
  try {
    pinned = target.hostKeys.map(parseHostKey);
  } catch (error) {
    throw new SshError(
      target.name,
      `invalid pinned host key: ${errorMessage(error)}`,
      false,
      'no-pinned-key',
    );
  }
  return { algorithms: hostKeyAlgorithms(pinned), verify: (key) => matchesPinned(key, pinned) };
}

async function connectOnce(target: SshTarget, deps: ConnectDeps): Promise<RemoteShell> {
  const logger = deps.logger ?? silentLogger;
  const opts = deps.options ?? {};
  // Trust is settled before anything is opened: a target without a usable pin must not leave
  // a jump-host connection behind.
  const { algorithms, verify } = verifierFor(target, logger);
  let sock: Duplex | undefined;
  let bastion: RemoteShell | undefined;
  if (target.bastion) {
    // The jump host gets its own verified connection; the inner hop is tunnelled through it.
    bastion = await connect(target.bastion, { ...deps, options: { ...opts, attempts: 1 } });
    try {
      sock = await (bastion as SshConnection).forward(target.address, target.port);
    } catch (error) {
      bastion.close();
      throw new SshError(
        target.name,
        `jump host ${target.bastion.name} could not reach ${target.address}:${target.port}: ${inertText(errorMessage(error))}`,
        true,
      );
    }
  }
  const client = new Client();
  let presented: Buffer | undefined;
  const config: ConnectConfig = {
    host: target.address,
    port: target.port,
    username: target.user,
    privateKey: deps.credentials.privateKey,
    passphrase: deps.credentials.passphrase,
    // Straight to the key: ssh2's default first asks with method "none" only to learn the
    // server's methods - one more round trip before every login.
    authHandler: ['publickey'],
    readyTimeout: opts.readyTimeoutMs ?? 20_000,
    keepaliveInterval: opts.keepaliveIntervalMs ?? 15_000,
    keepaliveCountMax: 4,
    hostVerifier: (key: Buffer) => {
      presented = key;
      return verify(key);
    },
    ...(algorithms ? { algorithms: { serverHostKey: algorithms as never } } : {}),
    ...(sock ? { sock } : {}),
  };
  return new Promise<RemoteShell>((resolve, reject) => {
    let settled = false;
    client.once('ready', () => {
      settled = true;
      const shell = new SshConnection(target, client, deps.secrets ?? new SecretRegistry(), bastion);
      shell.hostKeyFingerprint = presented ? fingerprint(presented) : undefined;
      resolve(shell);
    });
    // `on`, not `once`: ssh2 can emit a second error (e.g. "Connection lost before
    // handshake" after a handshake timeout), and an unhandled one would crash the process.
    client.on('error', (err: Error & { level?: string }) => {
      if (settled) return;
      settled = true;
      client.end();
      bastion?.close();
      reject(classify(target, err, presented));
    });
    try {
      client.connect(config);
      // Nagle's algorithm holds each small handshake packet until the previous one is ACKed,
      // and the server delays that ACK (~40 ms on Linux): measured, a login went from ~260 ms
      // to ~70 ms on loopback with TCP_NODELAY (OpenSSH sets it too). A tunnelled sock
      // (jump host) has no such option; ssh2 skips it then.
      client.setNoDelay(true);
    } catch (err) {
      settled = true;
      bastion?.close();
      reject(new SshError(target.name, inertText(errorMessage(err)), false, 'channel'));
    }
  });
}

function classify(
  target: SshTarget,
  err: Error & { level?: string; code?: string },
  presented?: Buffer,
): SshError {
  if (/host denied/i.test(err.message))
    return new HostKeyMismatchError(target.name, presented ? fingerprint(presented) : undefined);
  if (err.level === 'client-authentication') return new AuthRefusedError(target.name, target.user);
  return new SshError(target.name, inertText(err.message || String(err.code ?? 'connection failed')), true);
}

/** Extra time the client waits beyond the remote limit before it abandons the channel. */
const CLIENT_GRACE_MS = 3000;

/**
 * The command as sent: under coreutils `timeout`, which kills the command's whole process
 * group at the limit (and KILLs it 5 s later if TERM was ignored). The limit has to be
 * enforced on the node: OpenSSH ignores `signal` requests for root sessions ("session
 * signalling requires privilege separation"), and closing the channel does not stop a
 * command without a tty. Non-root users go through `sudo -n`, which fails instead of
 * prompting for a password.
 */
export function wrapCommand(command: string, user: string, timeoutMs: number): string {
  const seconds = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
  const limited = ['timeout', '-k', '5', seconds, 'sh', '-c', command];
  return quoteArgv(user === 'root' ? limited : ['sudo', '-n', '--', ...limited]);
}

/**
 * ssh2's `Channel.signal` silently does nothing once our side sent EOF (stdin closed), which
 * is every command here; the protocol-level request works regardless, so send that.
 */
function sendSignal(stream: ClientChannel, name: string): void {
  const channel = stream as unknown as {
    outgoing?: { id: number; state: string };
    _client?: { _protocol?: { signal(id: number, sig: string): void } };
  };
  try {
    if (channel.outgoing && channel.outgoing.state !== 'closed')
      channel._client?._protocol?.signal(channel.outgoing.id, name);
  } catch {
    /* the channel is already gone */
  }
}

/** Keeps at most `limit` bytes of a stream, counting what was dropped. */
class BoundedBuffer {
  private chunks: Buffer[] = [];
  private kept = 0;
  dropped = 0;
  constructor(private readonly limit: number) {}
  push(chunk: Buffer): void {
    const room = this.limit - this.kept;
    if (room <= 0) {
      this.dropped += chunk.length;
      return;
    }
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(part);
    this.kept += part.length;
    this.dropped += chunk.length - part.length;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

export class SshConnection implements RemoteShell {
  private closed = false;
  /** Fingerprint of the (verified) host key the server presented. */
  hostKeyFingerprint: string | undefined;

  constructor(
    readonly target: SshTarget,
    private readonly client: Client,
    private readonly secrets: SecretRegistry,
    private readonly bastion?: RemoteShell,
  ) {
    client.on('close', () => {
      this.closed = true;
    });
  }

  /** Opens a TCP tunnel from this host to address:port (used for jump hosts). */
  forward(address: string, port: number): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      this.client.forwardOut('127.0.0.1', 0, address, port, (err, channel) =>
        err ? reject(err) : resolve(channel),
      );
    });
  }

  /**
   * Runs `command` (built from quoted arguments by the caller) and resolves with its exit code
   * and both streams; never rejects for a non-zero exit. With a non-root user the command runs
   * through `sudo -n`, which fails instead of prompting.
   */
  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
    const wrapped = wrapCommand(command, this.target.user, timeoutMs);
    const shownCommand = this.secrets.redact(wrapped);
    const limit = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    const started = Date.now();
    if (this.closed)
      return Promise.reject(new SshError(this.target.name, 'connection is closed', true, 'channel'));
    return new Promise((resolve, reject) => {
      this.client.exec(wrapped, (err, stream) => {
        if (err) {
          reject(
            new SshError(
              this.target.name,
              `could not start command: ${inertText(err.message)}`,
              true,
              'channel',
            ),
          );
          return;
        }
        const out = new BoundedBuffer(limit);
        const errOut = new BoundedBuffer(limit);
        let code: number | null = null;
        let signal: string | null = null;
        let timedOut = false;
        let graceTimer: NodeJS.Timeout | undefined;
        // Backstop for a node where `timeout` itself hangs (a stuck kernel call, a dead
        // node): give up on our side a little after the remote limit.
        const timer = setTimeout(() => {
          timedOut = true;
          sendSignal(stream, 'KILL');
          stream.close();
          graceTimer = setTimeout(() => finish(), 5000);
        }, timeoutMs + CLIENT_GRACE_MS);
        let finished = false;
        const finish = () => {
          if (finished) return;
          finished = true;
          clearTimeout(timer);
          clearTimeout(graceTimer);
          // coreutils timeout exits 124 (TERM) or 137 (KILL after the grace) at the limit.
          if ((code === 124 || code === 137) && Date.now() - started >= timeoutMs) timedOut = true;
          resolve({
            host: this.target.name,
            command: shownCommand,
            code: timedOut ? null : code,
            signal: timedOut ? (signal ?? 'KILL') : signal,
            stdout: this.secrets.redact(out.text()),
            stderr: this.secrets.redact(errOut.text()),
            truncated: out.dropped + errOut.dropped > 0,
            timedOut,
            durationMs: Date.now() - started,
          });
        };
        stream.on('data', (chunk: Buffer) => out.push(chunk));
        stream.stderr.on('data', (chunk: Buffer) => errOut.push(chunk));
        stream.on('exit', (exitCode: number | null, exitSignal?: string) => {
          code = typeof exitCode === 'number' ? exitCode : null;
          signal = exitSignal ?? null;
        });
        stream.on('close', finish);
        if (options.stdin !== undefined) stream.end(options.stdin);
        else stream.end();
      });
    });
  }

  close(): void {
    if (!this.closed) this.client.end();
    this.closed = true;
    this.bastion?.close();
  }
}

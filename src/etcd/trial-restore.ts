import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inertText } from '../lib/inert.js';
import { errorMessage } from '../lib/errors.js';

/**
 * A trial restore of an etcd snapshot on the runner: `etcdutl snapshot status` (opens the bbolt
 * database and hashes it: a damaged file fails here), `etcdutl snapshot restore` into a temp dir
 * (verifies the integrity hash etcd appends to every snapshot), then a throwaway one-member etcd
 * on loopback serves the restored data and the number of keys under each prefix is counted
 * through etcd's JSON gateway (`/v3/kv/range` with `count_only`). Nothing touches the cluster.
 */
export interface SnapshotStatus {
  hash: number;
  revision: number;
  totalKey: number;
  totalSize: number;
  /** Storage version of the data (e.g. `3.6.0`). */
  version: string;
}

export interface TrialRestoreResult {
  status: SnapshotStatus;
  /** Keys per prefix in the restored data. */
  counts: Record<string, number>;
  timings: { statusMs: number; restoreMs: number; serveMs: number; countMs: number };
}

export class TrialRestoreError extends Error {
  override name = 'TrialRestoreError';
  constructor(
    readonly step: 'status' | 'restore' | 'serve' | 'count',
    message: string,
  ) {
    super(message);
  }
}

const exec = promisify(execFile);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** The end of a prefix range (etcd's `--prefix`): the prefix with its last byte incremented. */
export function prefixEnd(prefix: string): Buffer {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      bytes[i] = bytes[i]! + 1;
      return bytes.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

function failure(error: unknown): string {
  const e = error as { stderr?: string; message?: string };
  return inertText((e.stderr?.trim() || errorMessage(error)).split('\n').slice(-3).join(' | '), 600);
}

export async function trialRestore(
  snapshotFile: string,
  tools: { etcdutl: string; etcd: string },
  opts: { prefixes: readonly string[]; timeoutMs?: number; workDir?: string; signal?: AbortSignal },
): Promise<TrialRestoreResult> {
  const timeout = opts.timeoutMs ?? 120_000;
  const work = await mkdtemp(join(opts.workDir ?? (process.env.RUNNER_TEMP || '/tmp'), 'rke2ops-restore-'));
  const timings = { statusMs: 0, restoreMs: 0, serveMs: 0, countMs: 0 };
  let t = performance.now();
  const lap = () => {
    const now = performance.now();
    const ms = Math.round(now - t);
    t = now;
    return ms;
  };
  let child: ReturnType<typeof spawn> | undefined;
  try {
    let status: SnapshotStatus;
    try {
      const { stdout } = await exec(tools.etcdutl, ['snapshot', 'status', snapshotFile, '-w', 'json'], {
        timeout,
        maxBuffer: 1024 * 1024,
      });
      status = JSON.parse(stdout) as SnapshotStatus;
    } catch (error) {
      throw new TrialRestoreError('status', `etcdutl snapshot status failed: ${failure(error)}`);
    }
    timings.statusMs = lap();
    const [peer, client] = [await freePort(), await freePort()];
    const peerUrl = `http://127.0.0.1:${peer}`;
    const data = join(work, 'data');
    try {
      await exec(
        tools.etcdutl,
        [
          'snapshot',
          'restore',
          snapshotFile,
          `--data-dir=${data}`,
          '--name=verify',
          `--initial-cluster=verify=${peerUrl}`,
          `--initial-advertise-peer-urls=${peerUrl}`,
          '--initial-cluster-token=rke2-ops-verify',
        ],
        { timeout, maxBuffer: 4 * 1024 * 1024 },
      );
    } catch (error) {
      throw new TrialRestoreError('restore', `etcdutl snapshot restore failed: ${failure(error)}`);
    }
    timings.restoreMs = lap();
    const clientUrl = `http://127.0.0.1:${client}`;
    let stderr = '';
    child = spawn(
      tools.etcd,
      [
        `--data-dir=${data}`,
        '--name=verify',
        `--listen-client-urls=${clientUrl}`,
        `--advertise-client-urls=${clientUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        '--log-level=error',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    let exited: string | null = null;
    child.once('exit', (code, signal) => (exited = `exit ${code ?? signal}`));
    const range = async (key: Buffer, end: Buffer) => {
      const r = await fetch(`${clientUrl}/v3/kv/range`, {
        method: 'POST',
        body: JSON.stringify({
          key: key.toString('base64'),
          range_end: end.toString('base64'),
          count_only: true,
        }),
        signal: AbortSignal.timeout(10_000),
      });
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      return Number(((await r.json()) as { count?: string }).count ?? 0);
    };
    const until = Date.now() + timeout;
    for (;;) {
      try {
        await range(Buffer.from([0]), Buffer.from([0]));
        break;
      } catch (error) {
        if (exited)
          throw new TrialRestoreError(
            'serve',
            `etcd on the restored data ${exited}: ${inertText(stderr.trim().slice(-600))}`,
          );
        if (Date.now() > until || opts.signal?.aborted)
          throw new TrialRestoreError(
            'serve',
            `etcd on the restored data did not answer: ${errorMessage(error)}`,
          );
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    timings.serveMs = lap();
    const counts: Record<string, number> = {};
    try {
      for (const p of opts.prefixes) counts[p] = await range(Buffer.from(p, 'utf8'), prefixEnd(p));
    } catch (error) {
      throw new TrialRestoreError(
        'count',
        `counting keys in the restored data failed: ${errorMessage(error)}`,
      );
    }
    timings.countMs = lap();
    return { status, counts, timings };
  } finally {
    // A throwaway member: no graceful stop needed.
    if (child && child.exitCode === null) {
      const gone = new Promise((r) => child!.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    }
    await rm(work, { recursive: true, force: true });
  }
}

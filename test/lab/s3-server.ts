/**
 * The lab's S3 server: REAL s3rver (node_modules/s3rver, what its own CLI runs) with the lab's
 * buckets, plus one lab control: SIGUSR1 revokes the lab's access key at the server (every
 * client then gets 403 InvalidAccessKeyId / "Access Denied." - a rotated or revoked Hetzner key),
 * SIGUSR2 restores it. (SIGSTOP/SIGCONT and SIGKILL + restart are the blackhole and refuse
 * faults; they need no code here.)
 *
 *   node s3-lab-server.mjs <repo dir> <data dir> <port> <bucket>...
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';

const [repo, directory, port, ...buckets] = process.argv.slice(2);
if (!repo || !directory || !port) {
  process.stderr.write('usage: s3-lab-server <repo dir> <data dir> <port> <bucket>...\n');
  process.exit(2);
}
const requireFromRepo = createRequire(join(repo, 'package.json'));
const S3rver = requireFromRepo('s3rver') as new (options: Record<string, unknown>) => {
  run(): Promise<{ address: string; port: number }>;
};
const account = requireFromRepo('s3rver/lib/models/account') as {
  DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void; revokeAccessKey(id: string): void };
};

const KEY = 'S3RVER';
process.on('SIGUSR1', () => account.DUMMY_ACCOUNT.revokeAccessKey(KEY));
process.on('SIGUSR2', () => account.DUMMY_ACCOUNT.createKeyPair(KEY, KEY));

new S3rver({
  address: '127.0.0.1',
  port: Number(port),
  directory,
  silent: true,
  configureBuckets: buckets.map((name) => ({ name, configs: [] })),
})
  .run()
  .then(({ address, port: p }) => process.stdout.write(`S3rver listening on ${address}:${p}\n`))
  .catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });

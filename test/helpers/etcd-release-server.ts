/**
 * A local stand-in for etcd's GitHub release downloads: packs the Go-built etcd, etcdctl and
 * etcdutl (the lab's tools, `bash scripts/setup-tools.sh lab`) into the archive layout etcd
 * publishes (`v<version>/etcd-v<version>-linux-amd64.tar.gz` holding
 * `etcd-v<version>-linux-amd64/{etcd,etcdctl,etcdutl}`, plus `v<version>/SHA256SUMS`) and serves
 * it on 127.0.0.1, so the snapshot action's restore level installs etcdutl through
 * @actions/tool-cache exactly as it would from GitHub. `tamper()` serves a different archive
 * under the same SHA256SUMS (the checksum check must refuse it).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findTools } from '../lab/tools.js';

export interface EtcdReleaseServer {
  baseUrl: string;
  version: string;
  /** Requests served, by path (a second run must hit the tool cache, not the server). */
  requests: string[];
  tamper(on: boolean): void;
  close(): Promise<void>;
}

export async function startEtcdReleaseServer(version = '3.6.16'): Promise<EtcdReleaseServer> {
  const tools = findTools();
  const dirName = `etcd-v${version}-linux-amd64`;
  const work = mkdtempSync(join(tmpdir(), 'etcd-release-'));
  mkdirSync(join(work, dirName));
  copyFileSync(tools.etcd, join(work, dirName, 'etcd'));
  copyFileSync(tools.etcdctl, join(work, dirName, 'etcdctl'));
  copyFileSync(tools.etcdutl, join(work, dirName, 'etcdutl'));
  const archiveName = `${dirName}.tar.gz`;
  execFileSync('tar', ['-czf', join(work, archiveName), '-C', work, dirName]);
  const archive = readFileSync(join(work, archiveName));
  rmSync(work, { recursive: true, force: true });
  const sha = createHash('sha256').update(archive).digest('hex');
  const sums = `${'0'.repeat(64)}  etcd-v${version}-darwin-arm64.zip\n${sha}  ${archiveName}\n`;
  const tampered = Buffer.concat([archive, Buffer.from('tampered')]);
  let tamper = false;
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '';
    requests.push(path);
    if (path === `/v${version}/SHA256SUMS`) res.end(sums);
    else if (path === `/v${version}/${archiveName}`) res.end(tamper ? tampered : archive);
    else {
      res.statusCode = 404;
      res.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    version,
    requests,
    tamper: (on) => (tamper = on),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * The real binaries the lab runs: etcd 3.6 (`etcd`, or `server` - the name `go install` gives
 * go.etcd.io/etcd/server/v3), etcdctl, etcdutl and kube-apiserver v1.34 built from tools/lab/go.mod
 * by scripts/setup-tools.sh (linked into .tools/bin), and a kubectl. Looked up in
 * $RKE2OPS_LAB_TOOLS, then .tools/bin, then PATH.
 */
import { existsSync, realpathSync } from 'node:fs';
import { join, delimiter } from 'node:path';
import { REPO } from './paths.js';

export interface LabTools {
  etcd: string;
  etcdctl: string;
  etcdutl: string;
  kubeApiserver: string;
  kubectl: string;
  sshd: string;
  node: string;
  s3rver: string;
}

function searchDirs(): string[] {
  const dirs: string[] = [];
  if (process.env.RKE2OPS_LAB_TOOLS) dirs.push(process.env.RKE2OPS_LAB_TOOLS);
  dirs.push(join(REPO, '.tools', 'bin'));
  dirs.push(...(process.env.PATH ?? '').split(delimiter).filter(Boolean));
  return dirs;
}

function find(names: string[], what: string): string {
  for (const dir of searchDirs()) {
    for (const n of names) {
      const p = join(dir, n);
      if (existsSync(p)) return realpathSync(p);
    }
  }
  throw new Error(
    `lab: ${what} not found (looked for ${names.join('/')} in $RKE2OPS_LAB_TOOLS, .tools/bin and PATH). Build the lab tools: bash scripts/setup-tools.sh lab`,
  );
}

export function findTools(): LabTools {
  return {
    etcd: find(['etcd', 'server'], 'etcd 3.6'),
    etcdctl: find(['etcdctl'], 'etcdctl'),
    etcdutl: find(['etcdutl'], 'etcdutl'),
    kubeApiserver: find(['kube-apiserver'], 'kube-apiserver'),
    kubectl: process.env.RKE2OPS_LAB_KUBECTL ?? find(['kubectl'], 'kubectl'),
    sshd: find(['sshd'], 'sshd (apt-get install openssh-server)'),
    node: process.execPath,
    s3rver: join(REPO, 'node_modules', 's3rver', 'bin', 's3rver.js'),
  };
}

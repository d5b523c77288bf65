/** The lab state file (`<dir>/state.json`): enough to tear the lab down from the dir alone. */
import { readFileSync, writeFileSync, renameSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export interface NodeState {
  name: string;
  role: 'master' | 'worker';
  index: number;
  address: string;
  dir: string;
  sshdPid: number | null;
  hostKey: string;
  /** Scenario node-lost: the machine is gone for good. */
  lost?: boolean;
}

/** S3 faults in force (lab.s3Down / scenarios s3-*); cleared by lab.s3Up(). */
export interface S3Faults {
  /** refuse: the server is down (connections refused); blackhole: it answers nothing. */
  down?: 'refuse' | 'blackhole';
  /** The lab's access key is revoked at the server. */
  badCredentials?: boolean;
  /** The etcd snapshot bucket is gone (moved aside). */
  missingBucket?: boolean;
}

export interface S3Info {
  endpoint: string;
  bucket: string;
  folder: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface LabState {
  version: 1;
  id: string;
  name: string;
  dir: string;
  slot: number;
  sshPort: number;
  createdAt: string;
  nodes: NodeState[];
  s3: S3Info & { port: number; pid: number | null; veleroBucket: string; faults?: S3Faults };
  controllerPid: number | null;
  rke2Version: string;
  phase: 'creating' | 'up' | 'failed';
}

export function statePath(dir: string): string {
  return join(dir, 'state.json');
}

export function readState(dir: string): LabState | null {
  if (!existsSync(statePath(dir))) return null;
  return JSON.parse(readFileSync(statePath(dir), 'utf8')) as LabState;
}

export function writeState(state: LabState): void {
  const tmp = `${statePath(state.dir)}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, statePath(state.dir));
}

/**
 * The config.yaml of each lab node, shaped like the one the module's cloud-init writes
 * (rke2-facts.md §1, §8): node-name, token, `server:` for every node but the initial master,
 * and on masters the etcd snapshot schedule/retention/compression and `etcd-s3-*` settings.
 *
 * With a directory of module-rendered files (`<node-name>.yaml`), the lab takes each node's
 * file and overrides only what must point at the lab: `server`, `node-ip`/`advertise-address`,
 * `tls-san`, and the `etcd-s3-*` endpoint/bucket/credentials/insecure (README "Module configs").
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { S3Info } from './state.js';

export interface NodePlan {
  name: string;
  role: 'master' | 'worker';
  index: number;
  address: string;
}

export interface ConfigContext {
  cluster: string;
  token: string;
  master0: string;
  masterAddresses: string[];
  s3: S3Info;
  compress: boolean;
  /** `etcd-s3-timeout` (RKE2 default 5m0s) when set. */
  etcdS3Timeout?: string;
}

export function renderConfig(node: NodePlan, ctx: ConfigContext): Record<string, unknown> {
  const cfg: Record<string, unknown> = { 'node-name': node.name, token: ctx.token };
  if (!(node.role === 'master' && node.index === 0)) cfg['server'] = `https://${ctx.master0}:9345`;
  cfg['node-ip'] = node.address;
  if (node.role === 'master') {
    Object.assign(cfg, {
      'advertise-address': node.address,
      'tls-san': ctx.masterAddresses,
      'write-kubeconfig-mode': '0600',
      'cloud-provider-name': 'external',
      'etcd-snapshot-schedule-cron': '0 */6 * * *',
      'etcd-snapshot-retention': 5,
      'etcd-snapshot-compress': ctx.compress,
      ...s3Keys(ctx),
    });
  }
  return cfg;
}

function s3Keys(ctx: ConfigContext): Record<string, unknown> {
  return {
    'etcd-s3': true,
    'etcd-s3-endpoint': ctx.s3.endpoint,
    'etcd-s3-bucket': ctx.s3.bucket,
    'etcd-s3-folder': ctx.s3.folder,
    'etcd-s3-region': ctx.s3.region,
    'etcd-s3-access-key': ctx.s3.accessKeyId,
    'etcd-s3-secret-key': ctx.s3.secretAccessKey,
    'etcd-s3-insecure': true,
    'etcd-s3-retention': 10,
    ...(ctx.etcdS3Timeout ? { 'etcd-s3-timeout': ctx.etcdS3Timeout } : {}),
  };
}

export interface ModuleConfigs {
  masters: { name: string; config: Record<string, unknown> }[];
  workers: { name: string; config: Record<string, unknown> }[];
  /** `_auth-config.yaml` and where servers expect it (`auth_config_path` of `_index.json`). */
  authConfig: { path: string; text: string } | null;
}

/**
 * Reads the module's rendered configs (module/docs/ARCHITECTURE.md §12): `<node-name>.yaml` per
 * node and `_index.json` (nodes in order, masters first, roles server-init/server-join/agent).
 * Without an index: masters are the files with no `server:` or with etcd/apiserver keys, the
 * one with no `server:` first.
 */
export function readModuleConfigs(dir: string): ModuleConfigs {
  if (!existsSync(dir)) throw new Error(`module config dir ${dir} does not exist`);
  const load = (file: string) =>
    (parse(readFileSync(join(dir, file), 'utf8')) ?? {}) as Record<string, unknown>;
  const masters: ModuleConfigs['masters'] = [];
  const workers: ModuleConfigs['workers'] = [];
  let authConfig: ModuleConfigs['authConfig'] = null;
  const indexPath = join(dir, '_index.json');
  if (existsSync(indexPath)) {
    const index = JSON.parse(readFileSync(indexPath, 'utf8')) as {
      auth_config_path?: string | null;
      nodes: { name: string; role: string }[];
      files?: Record<string, string>;
    };
    for (const n of index.nodes) {
      const entry = { name: n.name, config: load(index.files?.[n.name] ?? `${n.name}.yaml`) };
      (n.role === 'agent' ? workers : masters).push(entry);
    }
    if (index.auth_config_path && existsSync(join(dir, '_auth-config.yaml'))) {
      authConfig = {
        path: index.auth_config_path,
        text: readFileSync(join(dir, '_auth-config.yaml'), 'utf8'),
      };
    }
  } else {
    const files = readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f) && !f.startsWith('_'))
      .sort();
    for (const f of files) {
      const config = load(f);
      const name = String(config['node-name'] ?? f.replace(/\.ya?ml$/, ''));
      const isMaster =
        !config['server'] ||
        Object.keys(config).some(
          (k) => k.startsWith('etcd-') || k.startsWith('kube-apiserver') || k === 'tls-san',
        );
      (isMaster ? masters : workers).push({ name, config });
    }
    masters.sort(
      (a, b) =>
        Number(Boolean(a.config['server'])) - Number(Boolean(b.config['server'])) ||
        a.name.localeCompare(b.name),
    );
  }
  if (masters.length === 0) throw new Error(`no master config in ${dir}`);
  if (masters[0]!.config['server'])
    throw new Error(`no initial master (a config without "server:") in ${dir}`);
  return { masters, workers, authConfig };
}

/** A module-rendered config with the lab-only settings pointed at the lab. */
export function overrideModuleConfig(
  config: Record<string, unknown>,
  node: NodePlan,
  ctx: ConfigContext,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config, 'node-name': node.name };
  if (!out['token']) out['token'] = ctx.token;
  if (node.role === 'master' && node.index === 0) delete out['server'];
  else out['server'] = `https://${ctx.master0}:9345`;
  out['node-ip'] = node.address;
  delete out['node-external-ip'];
  if (node.role === 'master') {
    out['advertise-address'] = node.address;
    out['tls-san'] = ctx.masterAddresses;
    if (out['etcd-s3'] === true || out['etcd-s3'] === 'true')
      Object.assign(out, s3Keys(ctx), { 'etcd-s3-retention': out['etcd-s3-retention'] ?? 10 });
  }
  return out;
}

export function toYaml(cfg: Record<string, unknown>): string {
  return `# rke2-ops lab: written like the module's cloud-init writes /etc/rancher/rke2/config.yaml\n${stringify(cfg)}`;
}

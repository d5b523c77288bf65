/**
 * SIMULATION of the RKE2 install script (`curl -sfL https://get.rke2.io | INSTALL_RKE2_VERSION=v sh -`,
 * rke2-facts.md §3.1): replaces the node's /usr/local/bin/rke2 with the requested release and
 * does NOT start or restart the service. Versions come from the lab's release table; an unknown
 * version fails like a release that cannot be downloaded.
 */
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { type NodeSimConfig, loadReleaseTable, fatal } from './common.js';

export function install(node: NodeSimConfig): void {
  const table = loadReleaseTable(node);
  const version = process.env.INSTALL_RKE2_VERSION ?? Object.keys(table.versions)[0] ?? '';
  const type = process.env.INSTALL_RKE2_TYPE ?? 'server';
  if (type !== 'server' && type !== 'agent') fatal(`[ERROR]  Invalid INSTALL_RKE2_TYPE ${type}`);
  process.stdout.write(`[INFO]  using ${version} as release\n`);
  if (!table.versions[version]) {
    process.stderr.write(`[ERROR]  download failed\n`);
    process.exit(22);
  }
  process.stdout.write(
    `[INFO]  downloading tarball for ${version}\n[INFO]  verifying tarball\n[INFO]  unpacking tarball file to /usr/local\n`,
  );
  const wrapper = readFileSync('/usr/local/bin/rke2', 'utf8').replace(
    /RKE2_LAB_VERSION=\S+/,
    `RKE2_LAB_VERSION=${version}`,
  );
  writeFileSync('/usr/local/bin/rke2.new', wrapper, { mode: 0o755 });
  renameSync('/usr/local/bin/rke2.new', '/usr/local/bin/rke2');
  void node;
}

/**
 * The lab's release table: which RKE2 versions the simulated install script can "download"
 * and how they behave. The default marks the upgrade target of the bad-upgrade scenario as
 * breaking CoreDNS (`k8s-app=kube-dns`), so a health check fails and a rollback fixes it.
 * Each release names the etcd it ships: RKE2 1.34 ships etcd 3.6, 1.33 etcd 3.5 (rke2-facts.md
 * §3.1), so starting v1.33 on data a v1.34 server wrote fails like etcd's "invalid downgrade"
 * unless a snapshot taken on v1.33 is restored first.
 */
export interface Release {
  status: 'good' | 'bad';
  /** Components (pod `k8s-app`/`app.kubernetes.io/name`/`component`) broken by a bad release. */
  breaks?: string[];
  /** The etcd version the release ships; its minor is the etcd data version it writes. */
  etcdVersion: string;
}

export interface ReleaseTable {
  versions: Record<string, Release>;
}

export const BASE_VERSION = 'v1.34.4+rke2r1';
export const BAD_VERSION = 'v1.34.5+rke2r1';
/** A release of the previous minor (etcd 3.5): for downgrade scenarios. */
export const OLD_MINOR_VERSION = 'v1.33.8+rke2r1';

export function defaultReleaseTable(): ReleaseTable {
  return {
    versions: {
      [OLD_MINOR_VERSION]: { status: 'good', etcdVersion: 'v3.5.21' },
      [BASE_VERSION]: { status: 'good', etcdVersion: 'v3.6.16' },
      [BAD_VERSION]: { status: 'bad', breaks: ['kube-dns'], etcdVersion: 'v3.6.16' },
      'v1.34.6+rke2r1': { status: 'good', etcdVersion: 'v3.6.16' },
    },
  };
}

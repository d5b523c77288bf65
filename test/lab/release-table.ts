/**
 * The lab's release table: which RKE2 versions the simulated install script can "download"
 * and how they behave. The default marks the upgrade target of the bad-upgrade scenario as
 * breaking CoreDNS (`k8s-app=kube-dns`), so a health check fails and a rollback fixes it.
 */
export interface ReleaseTable {
  versions: Record<string, { status: 'good' | 'bad'; breaks?: string[] }>;
}

export const BASE_VERSION = 'v1.34.4+rke2r1';
export const BAD_VERSION = 'v1.34.5+rke2r1';

export function defaultReleaseTable(): ReleaseTable {
  return {
    versions: {
      'v1.33.8+rke2r1': { status: 'good' },
      [BASE_VERSION]: { status: 'good' },
      [BAD_VERSION]: { status: 'bad', breaks: ['kube-dns'] },
      'v1.34.6+rke2r1': { status: 'good' },
    },
  };
}

import type { PodRequirement } from './types.js';

/**
 * RKE2's system pods by their real selectors (rke2-facts.md section 4): CoreDNS is the
 * rke2-coredns chart (`k8s-app=kube-dns`), kube-proxy and the control plane are static pods
 * labelled `component=<name>`, the hcloud CCM is its Helm chart's deployment.
 */
export function defaultPodRequirements(opts: { kubeProxy: boolean }): PodRequirement[] {
  return [
    {
      name: 'pods/kube-dns',
      namespace: 'kube-system',
      selector: 'k8s-app=kube-dns',
      count: { kind: 'min', min: 1 },
    },
    {
      name: 'pods/kube-proxy',
      namespace: 'kube-system',
      selector: 'component=kube-proxy',
      count: { kind: 'per-node' },
      ...(opts.kubeProxy
        ? {}
        : {
            skipReason:
              'kube-proxy is disabled (inventory rke2.kube_proxy: false): no kube-proxy pods expected',
          }),
    },
    {
      name: 'pods/hcloud-ccm',
      namespace: 'kube-system',
      selector: 'app.kubernetes.io/name=hcloud-cloud-controller-manager',
      count: { kind: 'min', min: 1 },
    },
    {
      name: 'pods/etcd',
      namespace: 'kube-system',
      selector: 'component=etcd',
      count: { kind: 'per-master' },
    },
    {
      name: 'pods/kube-apiserver',
      namespace: 'kube-system',
      selector: 'component=kube-apiserver',
      count: { kind: 'per-master' },
    },
  ];
}

export const DEFAULTS = {
  timeoutSeconds: 600,
  pollIntervalSeconds: 10,
  urlTimeoutSeconds: 10,
  requestTimeoutSeconds: 10,
  connectTimeoutSeconds: 8,
} as const;

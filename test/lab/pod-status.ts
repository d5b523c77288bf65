/**
 * SIMULATION of what a kubelet reports for the pods bound to its node (rke2-facts.md §4 for the
 * pods and labels). A pod is healthy unless its node runs a release the lab's release table
 * marks bad for that pod's component (the "bad upgrade" scenario): then it crash-loops, like
 * CoreDNS does on a broken release.
 */
export interface ReleaseInfo {
  status: 'good' | 'bad';
  /** Components broken by this release: matched against the pod's `k8s-app` / `app.kubernetes.io/name` / `component` label. */
  breaks?: string[];
}

export function componentOf(labels: Record<string, string> | undefined): string {
  const l = labels ?? {};
  return l['k8s-app'] ?? l['app.kubernetes.io/name'] ?? l['component'] ?? '';
}

export function podBroken(
  labels: Record<string, string> | undefined,
  release: ReleaseInfo | undefined,
): boolean {
  if (!release || release.status !== 'bad') return false;
  const c = componentOf(labels);
  return (release.breaks ?? ['kube-dns']).includes(c);
}

interface ContainerSpec {
  name: string;
  image: string;
}

export function podStatus(
  pod: { spec: { containers: ContainerSpec[] }; metadata: { labels?: Record<string, string> } },
  hostIP: string,
  broken: boolean,
  nodeReady: boolean,
  now = new Date(),
): Record<string, unknown> {
  const t = now.toISOString().replace(/\.\d+Z$/, 'Z');
  const ready = !broken && nodeReady;
  return {
    phase: 'Running',
    hostIP,
    hostIPs: [{ ip: hostIP }],
    podIP: hostIP,
    podIPs: [{ ip: hostIP }],
    startTime: t,
    qosClass: 'BestEffort',
    conditions: [
      { type: 'PodScheduled', status: 'True', lastTransitionTime: t },
      { type: 'Initialized', status: 'True', lastTransitionTime: t },
      { type: 'ContainersReady', status: ready ? 'True' : 'False', lastTransitionTime: t },
      { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: t },
    ],
    containerStatuses: pod.spec.containers.map((c) =>
      broken
        ? {
            name: c.name,
            image: c.image,
            imageID: '',
            ready: false,
            started: false,
            restartCount: 5,
            state: {
              waiting: {
                reason: 'CrashLoopBackOff',
                message: `back-off 2m40s restarting failed container=${c.name}`,
              },
            },
            lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: t, startedAt: t } },
          }
        : {
            name: c.name,
            image: c.image,
            imageID: '',
            ready,
            started: true,
            restartCount: 0,
            state: { running: { startedAt: t } },
          },
    ),
  };
}

import type { KubeNode, KubePod } from './types.js';
import { inertText } from '../lib/inert.js';

/**
 * Readiness read from conditions, never from printed columns: `kubectl get nodes` shows a
 * cordoned node as `Ready,SchedulingDisabled`, which a `$2=="Ready"` text match miscounts.
 */
export function nodeReady(node: KubeNode): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Why a node is not Ready, e.g. `NotReady (NodeStatusUnknown: Kubelet stopped posting node status.)`. */
export function nodeProblem(node: KubeNode): string {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  if (!ready) return 'NotReady (no Ready condition)';
  // Condition reasons and messages are free text written by whatever has node credentials.
  const why = inertText([ready.reason, ready.message].filter(Boolean).join(': '), 300);
  return ready.status === 'Unknown'
    ? `NotReady (status Unknown${why ? `, ${why}` : ''})`
    : `NotReady${why ? ` (${why})` : ''}`;
}

export const CONTROL_PLANE_LABELS = [
  'node-role.kubernetes.io/control-plane',
  'node-role.kubernetes.io/master',
  'node-role.kubernetes.io/etcd',
];

export function isControlPlane(node: KubeNode): boolean {
  const labels = node.metadata.labels ?? {};
  return CONTROL_PLANE_LABELS.some((l) => labels[l] === 'true');
}

/** Pods that are on their way out or finished are not the ones that must be Ready. */
export function isLivePod(pod: KubePod): boolean {
  return !pod.metadata.deletionTimestamp && pod.status?.phase !== 'Succeeded';
}

export function podReady(pod: KubePod): boolean {
  return (
    pod.status?.phase === 'Running' &&
    (pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false)
  );
}

/** The most telling reason a pod is not Ready: a container's waiting/terminated reason first. */
export function podProblem(pod: KubePod): string {
  for (const cs of pod.status?.containerStatuses ?? []) {
    if (cs.ready) continue;
    const reason = cs.state?.waiting?.reason ?? cs.state?.terminated?.reason;
    if (reason) return `${inertText(reason, 100)}${cs.restartCount ? `, ${cs.restartCount} restarts` : ''}`;
  }
  const phase = pod.status?.phase ?? 'Unknown';
  if (phase !== 'Running')
    return pod.status?.reason
      ? `${inertText(phase, 50)} (${inertText(pod.status.reason, 100)})`
      : inertText(phase, 50);
  return 'not Ready';
}

export function podImages(pod: KubePod): string[] {
  return (pod.spec?.containers ?? []).map((c) => c.image ?? '').filter(Boolean);
}

/**
 * Cluster state as read over SSH with the node's kubectl: the raw result of one probe and the
 * subset of Kubernetes objects the health evaluation reads.
 */

/** One command's result inside the probe script (exit code and both streams, decoded). */
export interface ProbePart {
  code: number;
  stdout: string;
  stderr: string;
}

/** The subset of a Kubernetes object's metadata the evaluator reads. */
export interface KubeMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  deletionTimestamp?: string;
}

export interface KubeCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface KubeNode {
  metadata: KubeMeta;
  spec?: { unschedulable?: boolean; taints?: { key: string; effect: string }[] };
  status?: {
    conditions?: KubeCondition[];
    nodeInfo?: { kubeletVersion?: string };
  };
}

export interface ContainerStatus {
  name: string;
  ready?: boolean;
  restartCount?: number;
  image?: string;
  state?: {
    waiting?: { reason?: string; message?: string };
    terminated?: { reason?: string; exitCode?: number };
    running?: unknown;
  };
}

export interface KubePod {
  metadata: KubeMeta;
  spec?: { nodeName?: string; containers?: { name: string; image?: string }[] };
  status?: {
    phase?: string;
    reason?: string;
    conditions?: KubeCondition[];
    containerStatuses?: ContainerStatus[];
  };
}

export interface KubeList<T> {
  items: T[];
}

/** Everything one poll learned from the cluster, decoded but not yet judged. */
export interface ClusterState {
  /** Node that ran the probe (a master). */
  probedVia: string;
  /** `kubectl get --raw /readyz?verbose`: exit 0 means HTTP 200. */
  readyz: ProbePart;
  /** `kubectl get --raw /readyz/etcd`: the API server's own view of its etcd. */
  readyzEtcd: ProbePart;
  /** Parsed `kubectl get nodes -o json`, or null with the reason when it failed. */
  nodes: KubeList<KubeNode> | null;
  nodesError?: string;
  /** Parsed `kubectl get pods -n <ns> -o json` per namespace checked. */
  pods: Record<string, KubeList<KubePod> | null>;
  podsErrors?: Record<string, string>;
}

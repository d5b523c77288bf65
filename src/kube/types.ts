/**
 * The shapes the health check passes between its parts: the raw state one probe returns, what
 * the operator expects, and the checks the pure evaluator derives from the two.
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

/** How many Ready pods a system-pod requirement wants. */
export type PodCount = { kind: 'per-node' } | { kind: 'per-master' } | { kind: 'min'; min: number };

export interface PodRequirement {
  /** Check name, e.g. `pods/kube-dns`. */
  name: string;
  namespace: string;
  selector: string;
  count: PodCount;
  /** Set when the requirement is known not to apply (kube-proxy disabled). */
  skipReason?: string;
}

export interface HealthExpectations {
  /** Expected node count; undefined = every node the API lists must be Ready. */
  nodeCount?: number;
  /**
   * True when nodeCount is an explicit minimum (the `expected-nodes` input): NotReady or missing
   * nodes beyond it are reported but do not fail. Otherwise every node must be Ready.
   */
  minimumOnly?: boolean;
  /** Node names from the inventory: named in messages when missing. */
  nodeNames?: string[];
  /** Master node names (for per-master pods); undefined = taken from the control-plane label. */
  masterNames?: string[];
  /** Every node's kubeletVersion must equal this when given. */
  rke2Version?: string;
  pods: PodRequirement[];
}

export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface Check {
  name: string;
  status: CheckStatus;
  message: string;
  /** Nodes (or URLs) the check failed on, for the failure message. */
  failing?: string[];
  observed?: Record<string, unknown>;
}

export interface UrlExpectation {
  url: string;
  /** Accepted status codes; default 200-399. */
  status: { min: number; max: number }[];
  /** Substring the body must contain, or a /regex/. */
  body?: string;
}

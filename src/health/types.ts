/**
 * The shapes of the health check: what the operator expects, and the checks the pure evaluator
 * derives from the cluster state (src/kube) and those expectations.
 */

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

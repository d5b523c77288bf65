import type { ClusterState, KubeNode, KubePod } from '../kube/types.js';
import type { Check, HealthExpectations, PodRequirement } from './types.js';
import {
  isControlPlane,
  isLivePod,
  nodeProblem,
  nodeReady,
  podImages,
  podProblem,
  podReady,
} from '../kube/conditions.js';
import { parseReadyz } from '../kube/readyz.js';
import { matchesSelector, parseSelector } from '../kube/selector.js';

/**
 * The health verdict as a pure function: raw state + expectations -> checks. No I/O, no clock,
 * so every judgement (cordoned nodes, readyz failures, version skew, disabled kube-proxy) is
 * unit-tested against recorded cluster output.
 */
export function evaluate(state: ClusterState | null, exp: HealthExpectations, unreachable?: string): Check[] {
  if (!state) {
    const why = unreachable ?? 'no master answered the probe';
    return [
      { name: 'api', status: 'fail', message: `cluster state unavailable: ${why}` },
      ...['nodes', 'version', 'etcd', ...exp.pods.map((p) => p.name)].map((name): Check => ({
        name,
        status: 'fail',
        message: 'not evaluated: no cluster state',
      })),
    ];
  }
  const nodes = state.nodes?.items ?? null;
  const masters = masterNames(nodes, exp);
  return [
    checkApi(state),
    checkNodes(state, exp),
    checkVersion(nodes, exp),
    checkEtcd(state, masters),
    ...exp.pods.map((req) => checkPods(state, req, nodes, masters)),
  ];
}

function masterNames(nodes: KubeNode[] | null, exp: HealthExpectations): string[] {
  if (exp.masterNames?.length) return exp.masterNames;
  return (nodes ?? []).filter(isControlPlane).map((n) => n.metadata.name);
}

function checkApi(state: ClusterState): Check {
  const r = parseReadyz(state.readyz);
  const observed = { via: state.probedVia, passedChecks: r.passed, failedChecks: r.failed };
  if (r.ok)
    return { name: 'api', status: 'pass', message: `API ready (/readyz via ${state.probedVia})`, observed };
  const detail = r.failed.length ? `failing readyz checks: ${r.failed.join('; ')}` : (r.error ?? 'not ready');
  return {
    name: 'api',
    status: 'fail',
    message: `API not ready via ${state.probedVia}: ${detail}`,
    failing: [state.probedVia],
    observed,
  };
}

function checkNodes(state: ClusterState, exp: HealthExpectations): Check {
  if (!state.nodes) {
    return {
      name: 'nodes',
      status: 'fail',
      message: `cannot list nodes: ${state.nodesError ?? 'unknown error'}`,
    };
  }
  const items = state.nodes.items;
  const ready = items.filter(nodeReady).map((n) => n.metadata.name);
  const notReady = items.filter((n) => !nodeReady(n));
  const cordoned = items.filter((n) => n.spec?.unschedulable).map((n) => n.metadata.name);
  const listed = new Set(items.map((n) => n.metadata.name));
  const missing = (exp.nodeNames ?? []).filter((name) => !listed.has(name));
  const expected = exp.nodeCount ?? items.length;
  const problems = [
    ...notReady.map((n) => `${n.metadata.name} ${nodeProblem(n)}`),
    ...missing.map((name) => `${name} not registered`),
  ];
  const observed = {
    expected,
    ready: ready.length,
    registered: items.length,
    notReady: notReady.map((n) => n.metadata.name),
    missing,
    cordoned,
  };
  // An explicit minimum tolerates the nodes beyond it (named, not failed); by default every node counts.
  const ok = ready.length >= expected && (problems.length === 0 || exp.minimumOnly === true);
  // Cordoned (SchedulingDisabled) nodes are Ready by condition: worth showing, not a failure.
  const cordonNote = cordoned.length ? `; cordoned but Ready: ${cordoned.join(', ')}` : '';
  if (ok) {
    const tolerated = problems.length
      ? ` (at least ${expected} required; tolerated: ${problems.join('; ')})`
      : '';
    return {
      name: 'nodes',
      status: 'pass',
      message: `${ready.length}/${expected} nodes Ready${tolerated}${cordonNote}`,
      observed,
    };
  }
  if (problems.length === 0) problems.push(`only ${items.length} nodes registered`);
  return {
    name: 'nodes',
    status: 'fail',
    message: `${ready.length}/${expected} nodes Ready: ${problems.join('; ')}${cordonNote}`,
    failing: [...notReady.map((n) => n.metadata.name), ...missing],
    observed,
  };
}

function checkVersion(nodes: KubeNode[] | null, exp: HealthExpectations): Check {
  const versions = Object.fromEntries(
    (nodes ?? []).map((n) => [n.metadata.name, n.status?.nodeInfo?.kubeletVersion ?? 'unknown']),
  );
  const distinct = [...new Set(Object.values(versions))];
  if (!exp.rke2Version) {
    return {
      name: 'version',
      status: 'skip',
      message: nodes
        ? `no expected version given; running ${distinct.join(', ')}`
        : 'no expected version given (node versions unknown: nodes not listed)',
      observed: { versions },
    };
  }
  if (!nodes) return { name: 'version', status: 'fail', message: 'cannot list nodes to read their versions' };
  const behind = Object.entries(versions).filter(([, v]) => v !== exp.rke2Version);
  const observed = { expected: exp.rke2Version, versions };
  if (behind.length === 0) {
    return {
      name: 'version',
      status: 'pass',
      message: `all ${nodes.length} nodes at ${exp.rke2Version}`,
      observed,
    };
  }
  return {
    name: 'version',
    status: 'fail',
    message: `${behind.length}/${nodes.length} nodes not at ${exp.rke2Version}: ${behind.map(([n, v]) => `${n} (${v})`).join(', ')}`,
    failing: behind.map(([n]) => n),
    observed,
  };
}

function checkEtcd(state: ClusterState, masters: string[]): Check {
  const readyzEtcd = state.readyzEtcd.code === 0;
  const etcdPods = (state.pods['kube-system']?.items ?? []).filter(
    (p) => isLivePod(p) && p.metadata.labels?.component === 'etcd',
  );
  const podsKnown = state.pods['kube-system'] != null;
  const members = Object.fromEntries(
    masters.map((m) => [m, etcdPods.some((p) => p.spec?.nodeName === m && podReady(p))]),
  );
  const up = Object.values(members).filter(Boolean).length;
  const quorum = Math.floor(masters.length / 2) + 1;
  const down = Object.entries(members)
    .filter(([, ok]) => !ok)
    .map(([m]) => m);
  const readyzText = readyzEtcd
    ? 'ok'
    : (state.readyzEtcd.stderr || state.readyzEtcd.stdout).trim().split('\n')[0] ||
      `exit ${state.readyzEtcd.code}`;
  const observed = { readyzEtcd: readyzText, members, quorum, membersReady: podsKnown ? up : null };
  const problems: string[] = [];
  if (!readyzEtcd) problems.push(`/readyz/etcd failed (${readyzText})`);
  if (podsKnown && masters.length && up < quorum)
    problems.push(`only ${up}/${masters.length} members Ready, quorum needs ${quorum}`);
  else if (podsKnown && down.length) problems.push(`member(s) not Ready: ${down.join(', ')}`);
  if (problems.length === 0) {
    const members = podsKnown && masters.length ? `, ${up}/${masters.length} members Ready` : '';
    return { name: 'etcd', status: 'pass', message: `etcd serves the API${members}`, observed };
  }
  // Without the pod list the members' state is unknown: name none rather than all.
  return {
    name: 'etcd',
    status: 'fail',
    message: problems.join('; '),
    failing: podsKnown ? down : [],
    observed,
  };
}

function describePod(p: KubePod) {
  return {
    name: p.metadata.name,
    node: p.spec?.nodeName ?? null,
    ready: podReady(p),
    phase: p.status?.phase ?? 'Unknown',
    ...(podReady(p) ? {} : { problem: podProblem(p) }),
    restarts: (p.status?.containerStatuses ?? []).reduce((s, c) => s + (c.restartCount ?? 0), 0),
    images: podImages(p),
  };
}

function checkPods(
  state: ClusterState,
  req: PodRequirement,
  nodes: KubeNode[] | null,
  masters: string[],
): Check {
  const where = `${req.namespace} ${req.selector}`;
  if (req.skipReason)
    return { name: req.name, status: 'skip', message: req.skipReason, observed: { selector: where } };
  const list = state.pods[req.namespace];
  if (!list) {
    const why = state.podsErrors?.[req.namespace] ?? 'not read';
    return { name: req.name, status: 'fail', message: `cannot list pods in ${req.namespace}: ${why}` };
  }
  const terms = parseSelector(req.selector);
  const pods = list.items.filter((p) => isLivePod(p) && matchesSelector(p.metadata.labels, terms));
  const ready = pods.filter(podReady);
  const broken = pods.filter((p) => !podReady(p));
  const brokenText = broken.map(
    (p) =>
      `${p.metadata.name}${p.spec?.nodeName ? ` on ${p.spec.nodeName}` : ''} ${podProblem(p)}${imageNote(p)}`,
  );
  const base = { selector: where, ready: ready.length, total: pods.length, pods: pods.map(describePod) };

  if (req.count.kind === 'min') {
    const min = req.count.min;
    const ok = ready.length >= min && broken.length === 0;
    const message = `${ready.length}/${pods.length} Ready (need ${min}+, all Ready)`;
    if (ok) return { name: req.name, status: 'pass', message, observed: { ...base, expected: min } };
    return {
      name: req.name,
      status: 'fail',
      message: `${message}${broken.length ? `: ${brokenText.join('; ')}` : pods.length ? '' : `: no pod matches ${where}`}`,
      failing: [...new Set(broken.map((p) => p.spec?.nodeName ?? p.metadata.name))],
      observed: { ...base, expected: min },
    };
  }
  const perMaster = req.count.kind === 'per-master';
  const targets = perMaster ? masters : (nodes ?? []).map((n) => n.metadata.name);
  if (!perMaster && !nodes)
    return { name: req.name, status: 'fail', message: 'cannot list nodes to place pods on', observed: base };
  const lacking = targets.filter((t) => !ready.some((p) => p.spec?.nodeName === t));
  const message = `${targets.length - lacking.length}/${targets.length} ${perMaster ? 'masters' : 'nodes'} have a Ready pod`;
  if (lacking.length === 0)
    return { name: req.name, status: 'pass', message, observed: { ...base, expected: targets.length } };
  const details = lacking.map((t) => {
    const pod = pods.find((p) => p.spec?.nodeName === t);
    return pod ? `${t}: ${pod.metadata.name} ${podProblem(pod)}${imageNote(pod)}` : `${t}: no pod`;
  });
  return {
    name: req.name,
    status: 'fail',
    message: `${message}; ${details.join('; ')}`,
    failing: lacking,
    observed: { ...base, expected: targets.length },
  };
}

/** The image of a failing pod often names the bad version after an upgrade. */
function imageNote(p: KubePod): string {
  const images = podImages(p);
  return images.length ? ` [${images.join(', ')}]` : '';
}

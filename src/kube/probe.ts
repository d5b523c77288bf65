import { bashScript, sh, type ShellFragment } from '../lib/quote.js';
import { assertAbsolutePath, assertIdentifier } from '../lib/identifiers.js';
import type { ClusterState, KubeList, KubeNode, KubePod, ProbePart } from './types.js';
import { inertText } from '../lib/inert.js';

/**
 * The health probe: ONE remote command per poll that collects every piece of raw state the
 * evaluator needs and prints it as one JSON document.
 *
 * Stock RKE2 nodes have no jq, so the script does not build JSON from kubectl output: each
 * part's stdout and stderr are base64-encoded (coreutils) into a fixed JSON skeleton and parsed
 * on the runner. Each part runs in its own subshell with its exit code captured, so a failing
 * part (API down, kubectl missing, a namespace forbidden) still yields JSON for the others. The
 * kubectl calls run concurrently: a poll costs one API round trip, not five.
 *
 * etcd: etcdctl is not on an RKE2 host; asking it means `kubectl exec` into each etcd static
 * pod with the certs under server/tls/etcd - an exec per member, seconds per poll, and a
 * dependency on exec working at all. We use two cheaper signals instead: the API server's own
 * `/readyz/etcd` (can it read and write its datastore) and the readiness of the `component=etcd`
 * static pods on every master (whose kubelet probes etcd's /health). Together they say whether
 * etcd serves and how many members are up, which is what the gate needs.
 */

export const KUBECONFIG = '/etc/rancher/rke2/rke2.yaml';
export const PROBE_VERSION = 1;

export interface ProbeOptions {
  /** RKE2 data dir (inventory rke2.data_dir); kubectl lives in <data_dir>/bin. */
  dataDir: string;
  /** Namespaces whose pods are read. */
  namespaces: readonly string[];
  /** Per-request limit passed to kubectl, so a hung API cannot stall the poll. */
  requestTimeoutSeconds: number;
}

interface PartSpec {
  key: string;
  args: ShellFragment;
}

/**
 * Each kubectl process costs ~50 ms of CPU on the node before it sends a request, so the probe
 * runs as few as it can: the verbose /readyz (whose listing includes the etcd check, so no
 * separate /readyz/etcd), and nodes plus the first namespace's pods in ONE call
 * (`get nodes,pods -n <ns>`: nodes are cluster-scoped, so -n only narrows the pods). Other
 * namespaces get a call each. Two kubectl calls for the default checks, instead of five.
 */
function parts(opts: ProbeOptions): PartSpec[] {
  const [first, ...rest] = opts.namespaces;
  return [
    { key: 'readyz', args: sh`get --raw ${'/readyz?verbose'}` },
    first
      ? { key: 'cluster', args: sh`get nodes,pods -n ${first} -o json` }
      : { key: 'nodes', args: sh`get nodes -o json` },
    ...rest.map((ns, i) => ({ key: `pods_${i + 1}`, args: sh`get pods -n ${ns} -o json` })),
  ];
}

export function buildProbeScript(opts: ProbeOptions): string {
  assertAbsolutePath('rke2.data_dir', opts.dataDir);
  opts.namespaces.forEach((ns) => assertIdentifier('namespace', 'system-pods namespace', ns));
  const kubectl = `${opts.dataDir.replace(/\/+$/, '')}/bin/kubectl`;
  const timeout = `${Math.max(1, Math.round(opts.requestTimeoutSeconds))}s`;
  const list = parts(opts);
  // Few processes on the node: each part is a background job whose exit code comes from
  // `wait <pid>` (no rc files to cat), stderr is encoded only when there is some, and the host
  // name is bash's own $HOSTNAME.
  return bashScript([
    sh`k() { ${kubectl} --kubeconfig ${KUBECONFIG} --request-timeout=${timeout} "$@"; }`,
    'd=$(mktemp -d); trap \'rm -rf "$d"\' EXIT',
    ...list.map((p, i) => sh`k ${p.args} >"$d/"${p.key}.out 2>"$d/"${p.key}.err & p${String(i)}=$!`),
    // A failing kubectl is data, not the end of the probe: its code is recorded, never raised.
    'emit() { local rc=0 err=; wait "$2" || rc=$?; if [ -s "$d/$1.err" ]; then err=$(base64 -w0 <"$d/$1.err"); fi; ' +
      'printf \'"%s":{"code":%s,"out":"%s","err":"%s"}\' "$1" "$rc" "$(base64 -w0 <"$d/$1.out")" "$err"; }',
    sh`printf '{"v":%s,"host":"%s","parts":{' ${String(PROBE_VERSION)} "$HOSTNAME"`,
    ...list.map((p, i) => (i === 0 ? '' : 'printf ,; ') + sh`emit ${p.key} "$p${String(i)}"`.text),
    "printf '}}\\n'",
  ]);
}

/**
 * The API server's etcd check, read from the verbose /readyz listing (`[+]etcd ok` or
 * `[-]etcd failed: <reason>`) - the same check /readyz/etcd runs alone. When the listing is
 * missing (the API did not answer), the reason is readyz's own failure.
 */
export function etcdFromReadyz(readyz: ProbePart): ProbePart {
  const text = `${readyz.stdout}\n${readyz.stderr}`.replace(/\\n/g, '\n');
  if (/^\[\+\]etcd ok$/m.test(text)) return { code: 0, stdout: 'ok', stderr: '' };
  const failed = /^\[-\]etcd failed: ?([^\n"]*)/m.exec(text);
  if (failed)
    return { code: 1, stdout: '', stderr: `etcd check failed: ${failed[1]!.trim() || 'reason withheld'}` };
  return {
    code: readyz.code === 0 ? 1 : readyz.code,
    stdout: '',
    stderr: readyz.stderr.trim() || 'the /readyz listing does not include the etcd check',
  };
}

export class ProbeOutputError extends Error {
  override name = 'ProbeOutputError';
}

interface RawPart {
  code: number;
  out: string;
  err: string;
}

function decode(part: RawPart | undefined, key: string): ProbePart {
  if (!part) return { code: 255, stdout: '', stderr: `probe part ${key} missing from the output` };
  return {
    code: Number(part.code),
    stdout: Buffer.from(part.out, 'base64').toString('utf8'),
    stderr: Buffer.from(part.err, 'base64').toString('utf8'),
  };
}

function kubectlError(part: ProbePart): string {
  const text = (part.stderr || part.stdout).trim().split('\n').slice(0, 3).join(' ');
  return `kubectl exited ${part.code}${text ? `: ${inertText(text, 300)}` : ''}`;
}

function parseList<T>(part: ProbePart): { list: KubeList<T> | null; error?: string } {
  if (part.code !== 0) return { list: null, error: kubectlError(part) };
  try {
    const doc = JSON.parse(part.stdout) as { items?: T[] };
    if (!Array.isArray(doc?.items)) return { list: null, error: 'kubectl output has no items list' };
    return { list: { items: doc.items } };
  } catch (error) {
    return { list: null, error: `kubectl output is not JSON (${inertText((error as Error).message)})` };
  }
}

/** Decodes the probe's stdout into raw cluster state; throws only if the document is unusable. */
export function parseProbeOutput(stdout: string, opts: ProbeOptions, probedVia: string): ClusterState {
  let doc: { v?: number; parts?: Record<string, RawPart> };
  // A login rc file may print before the script does: take the document line itself.
  const line = stdout.split('\n').findLast((l) => l.startsWith('{"v":')) ?? stdout.trim();
  try {
    doc = JSON.parse(line) as typeof doc;
  } catch (error) {
    throw new ProbeOutputError(
      `the probe printed no valid JSON (${inertText((error as Error).message)}): ${inertText(stdout, 200)}`,
    );
  }
  if (doc.v !== PROBE_VERSION || !doc.parts)
    throw new ProbeOutputError('the probe output has an unexpected shape');
  const p = doc.parts;
  const pods: ClusterState['pods'] = {};
  const podsErrors: Record<string, string> = {};
  let nodes: { list: KubeList<KubeNode> | null; error?: string };
  if (p.cluster) {
    // One List of Nodes and the first namespace's Pods, told apart by kind.
    const both = parseList<(KubeNode | KubePod) & { kind?: string }>(decode(p.cluster, 'cluster'));
    const ofKind = <T>(kind: string) =>
      both.list ? { items: both.list.items.filter((o) => o.kind === kind) as T[] } : null;
    nodes = { list: ofKind<KubeNode>('Node'), ...(both.error ? { error: both.error } : {}) };
    const first = opts.namespaces[0]!;
    pods[first] = ofKind<KubePod>('Pod');
    if (both.error) podsErrors[first] = both.error;
  } else nodes = parseList<KubeNode>(decode(p.nodes, 'nodes'));
  opts.namespaces.forEach((ns, i) => {
    if (ns in pods) return;
    const parsed = parseList<KubePod>(decode(p[`pods_${i}`], `pods_${i}`));
    pods[ns] = parsed.list;
    if (parsed.error) podsErrors[ns] = parsed.error;
  });
  const readyz = decode(p.readyz, 'readyz');
  return {
    probedVia,
    readyz,
    readyzEtcd: p.readyz_etcd ? decode(p.readyz_etcd, 'readyz_etcd') : etcdFromReadyz(readyz),
    nodes: nodes.list,
    ...(nodes.error ? { nodesError: nodes.error } : {}),
    pods,
    ...(Object.keys(podsErrors).length ? { podsErrors } : {}),
  };
}

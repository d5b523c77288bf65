import { InputError } from '../lib/errors.js';
import { assertAbsolutePath, assertIdentifier } from '../lib/identifiers.js';
import {
  inputBoolean,
  inputChoice,
  inputDuration,
  inputInteger,
  inputList,
  inputOptional,
  inputString,
  type InputSource,
} from '../lib/inputs.js';
import type { SecretRegistry } from '../lib/secrets.js';
import { loadInventoryFile, parseInventory, type LoadedInventory } from '../inventory/load.js';
import { targetsFromInventory } from '../inventory/targets.js';
import { knownHostsKeys } from '../ssh/hostkeys.js';
import type { SshCredentials } from '../ssh/types.js';
import { DEFAULTS, defaultPodRequirements } from './defaults.js';
import { parseSelector } from '../kube/selector.js';
import type { HealthConfig, HealthNode } from './run.js';
import { checkPrivateKey } from '../ssh/keys.js';
import { SSH_CHECK_SCOPES, sshCheckTargets } from '../ssh/access.js';
import { isAddress } from '../inventory/schema.js';
import type { PodCount, PodRequirement, UrlExpectation } from './types.js';
import { inert } from '../lib/inert.js';

/** Input names, shared by action.yml, the CLI flags and the tests. */
export const HealthInputs = {
  inventory: 'inventory',
  inventoryFile: 'inventory-file',
  host: 'host',
  sshUser: 'ssh-user',
  sshPort: 'ssh-port',
  dataDir: 'data-dir',
  kubeProxy: 'kube-proxy',
  sshKey: 'ssh-key',
  sshKeyPassphrase: 'ssh-key-passphrase',
  knownHosts: 'known-hosts',
  insecureSkip: 'insecure-skip-host-key-verification',
  sshCheck: 'ssh-check',
  expectedNodes: 'expected-nodes',
  expectedVersion: 'expected-version',
  systemPods: 'system-pods',
  urls: 'urls',
  urlTimeout: 'url-timeout',
  timeout: 'timeout',
  pollInterval: 'poll-interval',
  connectTimeout: 'connect-timeout',
  failOnUnhealthy: 'fail-on-unhealthy',
} as const;

export interface HealthRunConfig {
  health: HealthConfig;
  credentials: SshCredentials;
  failOnUnhealthy: boolean;
  insecureSkipHostKeyVerification: boolean;
  warnings: string[];
}

/** Most masters given with `host`: a list longer than any real control plane is a mistake. */
const MAX_HOSTS = 64;

/**
 * Reads and validates every input before anything touches a node: a malformed inventory, a bad
 * URL, a negative timeout, a selector with shell metacharacters, an unusable or encrypted SSH
 * key fails here, with the input named. The SSH key and its passphrase are registered as
 * secrets the moment they are read.
 */
export async function readHealthConfig(get: InputSource, secrets: SecretRegistry): Promise<HealthRunConfig> {
  const privateKey = inputString(get, HealthInputs.sshKey);
  secrets.add(privateKey);
  const passphrase = inputOptional(get, HealthInputs.sshKeyPassphrase);
  secrets.add(passphrase);
  // ssh2's own parser: an unusable key ends the run here, not as "auth failed" on every node.
  checkPrivateKey(privateKey, passphrase, {
    key: HealthInputs.sshKey,
    passphrase: HealthInputs.sshKeyPassphrase,
  });

  const insecure = inputBoolean(get, HealthInputs.insecureSkip, false);
  const knownHosts = inputOptional(get, HealthInputs.knownHosts);
  const loaded = await loadInventory(get);
  const warnings = [...(loaded?.warnings ?? [])];
  if (insecure) warnings.push('insecure-skip-host-key-verification is on: host keys are NOT verified');
  const sshCheck = inputChoice(get, HealthInputs.sshCheck, SSH_CHECK_SCOPES, 'all');

  const cluster = loaded?.inventory.cluster ?? 'cluster';
  const nodes: HealthNode[] = loaded
    ? targetsFromInventory(loaded.inventory, { knownHosts, insecureSkipHostKeyVerification: insecure })
    : hostTargets(get, knownHosts, insecure);
  const masters = nodes.filter((n) => n.role === 'master');

  if (masters.length === 0) throw new InputError(HealthInputs.host, 'names no master to probe');
  // Every node this run will contact needs a pin: the masters, and the ssh-check scope.
  const contacted = [...new Set([...masters, ...sshCheckTargets(nodes, sshCheck)])];
  const unpinned = contacted.filter((m) => !insecure && m.hostKeys.length === 0).map((m) => m.name);
  if (unpinned.length)
    throw new InputError(
      HealthInputs.knownHosts,
      `no host key for ${unpinned.join(', ')}: give host_keys in the inventory or a known-hosts entry ` +
        '(or, knowingly, insecure-skip-host-key-verification)',
    );
  const inv = loaded?.inventory;
  const dataDir = assertAbsolutePath(
    HealthInputs.dataDir,
    inputString(get, HealthInputs.dataDir, inv?.rke2.data_dir ?? '/var/lib/rancher/rke2'),
  );
  const kubeProxy = inputBoolean(get, HealthInputs.kubeProxy, inv?.rke2.kube_proxy ?? true);
  const inventoryNodes = inv ? inv.masters.length + inv.workers.length : undefined;
  const nodeCount = inputOptional(get, HealthInputs.expectedNodes)
    ? inputInteger(get, HealthInputs.expectedNodes, 0, { min: 1, max: 10_000 })
    : inventoryNodes;
  const version = inputOptional(get, HealthInputs.expectedVersion);
  if (version) assertIdentifier('rke2Version', HealthInputs.expectedVersion, version);

  const timeoutSeconds = inputDuration(get, HealthInputs.timeout, DEFAULTS.timeoutSeconds);
  const pollIntervalSeconds = inputDuration(get, HealthInputs.pollInterval, DEFAULTS.pollIntervalSeconds);
  const urlTimeoutSeconds = inputDuration(get, HealthInputs.urlTimeout, DEFAULTS.urlTimeoutSeconds);
  const connectTimeoutSeconds = inputDuration(
    get,
    HealthInputs.connectTimeout,
    DEFAULTS.connectTimeoutSeconds,
  );

  const urls = [
    ...(inv?.health.urls ?? []).map((u) => parseUrlLine(u, 'inventory.health.urls')),
    ...lines(get(HealthInputs.urls)).map((l) => parseUrlLine(l, HealthInputs.urls)),
  ];

  return {
    health: {
      cluster,
      masters,
      nodes,
      sshCheck,
      hostKeysVerified: !insecure,
      dataDir,
      expectations: {
        nodeCount,
        minimumOnly: inputOptional(get, HealthInputs.expectedNodes) !== undefined,
        nodeNames: inv ? [...inv.masters, ...inv.workers].map((n) => n.name) : undefined,
        masterNames: inv ? inv.masters.map((n) => n.name) : undefined,
        rke2Version: version,
        pods: parseSystemPods(get(HealthInputs.systemPods), kubeProxy),
      },
      urls,
      timeoutSeconds,
      pollIntervalSeconds,
      urlTimeoutSeconds,
      requestTimeoutSeconds: Math.min(DEFAULTS.requestTimeoutSeconds, Math.max(1, Math.ceil(timeoutSeconds))),
      connectTimeoutSeconds,
    },
    credentials: { privateKey, ...(passphrase ? { passphrase } : {}) },
    failOnUnhealthy: inputBoolean(get, HealthInputs.failOnUnhealthy, true),
    insecureSkipHostKeyVerification: insecure,
    warnings,
  };
}

async function loadInventory(get: InputSource): Promise<LoadedInventory | undefined> {
  const text = inputOptional(get, HealthInputs.inventory);
  const file = inputOptional(get, HealthInputs.inventoryFile);
  const host = inputOptional(get, HealthInputs.host);
  const given = [text, file, host].filter(Boolean).length;
  if (given === 0)
    throw new InputError(HealthInputs.inventory, 'give `inventory` (JSON), `inventory-file`, or `host`');
  if (given > 1)
    throw new InputError(HealthInputs.inventory, 'give only one of `inventory`, `inventory-file` and `host`');
  if (host) return undefined;
  // The inventory says how to reach its nodes: an input that would be silently ignored is an error.
  for (const [input, key] of [
    [HealthInputs.sshUser, 'ssh.user'],
    [HealthInputs.sshPort, 'ssh.port'],
  ] as const) {
    if (inputOptional(get, input) !== undefined)
      throw new InputError(
        input,
        `is only for \`host\`: the inventory sets ${key} for every node. Remove ${input}, or change ${key} in the inventory`,
      );
  }
  if (text) return parseInventory(text, HealthInputs.inventory);
  return loadInventoryFile(file!, HealthInputs.inventoryFile);
}

/** Explicit masters without an inventory: addresses, with keys from known-hosts. */
function hostTargets(get: InputSource, knownHosts: string | undefined, insecure: boolean): HealthNode[] {
  const user = inputString(get, HealthInputs.sshUser, 'root');
  assertIdentifier('userName', HealthInputs.sshUser, user);
  const port = inputInteger(get, HealthInputs.sshPort, 22, { min: 1, max: 65535 });
  const hosts = inputList(get, HealthInputs.host);
  if (hosts.length > MAX_HOSTS)
    throw new InputError(HealthInputs.host, `names ${hosts.length} masters; at most ${MAX_HOSTS}`);
  return hosts.map((address) => {
    if (!isAddress(address))
      throw new InputError(
        HealthInputs.host,
        `${inert(address)} is not an IPv4/IPv6 address or a host name (at most 253 characters)`,
      );
    const hostKeys = knownHosts
      ? knownHostsKeys(knownHosts, address, port).map((k) => `${k.type} ${k.blob.toString('base64')}`)
      : [];
    return {
      name: address,
      address,
      port,
      user,
      hostKeys,
      insecureSkipHostKeyVerification: insecure,
      bastion: null,
      role: 'master' as const,
    };
  });
}

function lines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

/**
 * `system-pods`: one requirement per line, `<namespace> <selector> [per-node|per-master|<min>]`
 * (default min 1, all matching pods Ready). The word `defaults` adds RKE2's defaults; an empty
 * input means the defaults alone.
 */
export function parseSystemPods(text: string, kubeProxy: boolean): PodRequirement[] {
  const entries = lines(text);
  if (entries.length === 0) return defaultPodRequirements({ kubeProxy });
  const out: PodRequirement[] = [];
  for (const line of entries) {
    if (line === 'defaults') {
      out.push(...defaultPodRequirements({ kubeProxy }));
      continue;
    }
    const [namespace, selector, countText, ...rest] = line.split(/\s+/);
    if (!namespace || !selector || rest.length)
      throw new InputError(
        HealthInputs.systemPods,
        `${inert(line)}: expected "<namespace> <selector> [per-node|per-master|<min>]"`,
      );
    assertIdentifier('namespace', HealthInputs.systemPods, namespace);
    parseSelector(selector, HealthInputs.systemPods);
    out.push({
      name: `pods/${namespace}/${selector}`,
      namespace,
      selector,
      count: parseCount(countText, line),
    });
  }
  return out;
}

function parseCount(text: string | undefined, line: string): PodCount {
  if (text === undefined) return { kind: 'min', min: 1 };
  if (text === 'per-node' || text === 'per-master') return { kind: text };
  if (/^\d+$/.test(text) && Number(text) >= 1) return { kind: 'min', min: Number(text) };
  throw new InputError(
    HealthInputs.systemPods,
    `${inert(line)}: the count must be per-node, per-master or a number >= 1`,
  );
}

/** `urls`: one per line, `<url> [status=200|200-299|200,204] [body=<text or /regex/>]`. */
export function parseUrlLine(line: string, field: string): UrlExpectation {
  const bodyAt = line.search(/\sbody=/);
  const head = bodyAt >= 0 ? line.slice(0, bodyAt) : line;
  const body = bodyAt >= 0 ? line.slice(bodyAt).trim().slice('body='.length) : undefined;
  const [url, ...opts] = head.trim().split(/\s+/);
  let parsed: URL;
  try {
    parsed = new URL(url ?? '');
  } catch {
    throw new InputError(field, `${inert(url)} is not a valid URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new InputError(field, `${inert(url)}: only http and https URLs can be checked`);
  let status: UrlExpectation['status'] = [{ min: 200, max: 399 }];
  for (const opt of opts) {
    const m = /^status=(.+)$/.exec(opt);
    if (!m) throw new InputError(field, `${inert(opt)}: expected status=<codes> or body=<text>`);
    status = m[1]!.split(',').map((part) => {
      const r = /^([1-5]\d\d)(?:-([1-5]\d\d))?$/.exec(part);
      if (!r) throw new InputError(field, `${inert(part)} is not an HTTP status or range like 200-299`);
      return { min: Number(r[1]), max: Number(r[2] ?? r[1]) };
    });
  }
  if (body !== undefined && body === '')
    throw new InputError(field, 'body= needs a text or /regex/ to match');
  if (body && /^\/.*\/[a-z]*$/s.test(body)) {
    try {
      const m = /^\/(.*)\/([a-z]*)$/s.exec(body)!;
      new RegExp(m[1]!, m[2]);
    } catch (error) {
      throw new InputError(
        field,
        `body=${body} is not a valid regular expression (${(error as Error).message})`,
      );
    }
  }
  return { url: parsed.toString(), status, ...(body ? { body } : {}) };
}

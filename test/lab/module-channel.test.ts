/**
 * The module's node channel on a lab (module/docs/ARCHITECTURE.md §3): real `tofu` renders the
 * scripts and payloads of a 3-master cluster named like the lab, and they run as root over real
 * SSH (pinned host keys) on the lab's masters - which read config.yaml.d like RKE2, so the
 * delivered kube-apiserver-arg reaches the real kube-apiserver. Skipped, with the reason
 * printed, when tofu is missing (scripts/setup-tools.sh tofu).
 *
 * The lab's `systemctl restart` returns once the unit is up; the script is written for the real
 * unit (`restart --no-block`, then polls readiness) and accepts both.
 */
import { jest } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { quoteArgv } from '../../src/lib/quote.js';
import type { ExecResult } from '../../src/ssh/index.js';
import { createLab, type Lab } from './lab.js';
import { REPO } from './paths.js';
import { kubectl } from './helpers.js';

jest.setTimeout(900_000);

const NAME = 'mod-ch';
const MASTERS = [0, 1, 2].map((i) => `${NAME}-master-${i}`);
const CHANNEL_DIR = '/var/lib/rancher/rke2-ops/channel';

const haveTofu = spawnSync('sh', ['-c', 'command -v tofu'], { encoding: 'utf8' }).status === 0;
if (!haveTofu)
  process.stderr.write('[lab] SKIP module-channel: tofu not on PATH (scripts/setup-tools.sh tofu)\n');
const maybe = haveTofu || process.env.CI === 'true' ? describe : describe.skip;

interface ChannelFile {
  path: string;
  restart: boolean;
  sha256: string;
}
interface Rendered {
  scripts: Record<string, string>;
  payloads: Record<string, string>;
  summary: Record<string, { sha256: string; files: ChannelFile[]; after: string[] }>;
}

const MOCKS = `
mock_provider "hcloud" {
  mock_resource "hcloud_network" { defaults = { id = "1001" } }
  mock_resource "hcloud_network_subnet" { defaults = { id = "1001-10.0.1.0/24" } }
  mock_resource "hcloud_firewall" { defaults = { id = "2001" } }
  mock_resource "hcloud_placement_group" { defaults = { id = "3001" } }
  mock_resource "hcloud_ssh_key" { defaults = { id = "4001" } }
  mock_resource "hcloud_server" { defaults = { id = "5001", ipv4_address = "203.0.113.10", ipv6_address = "2001:db8::10" } }
  mock_resource "hcloud_load_balancer" { defaults = { id = "6001", ipv4 = "203.0.113.100", ipv6 = "2001:db8::100" } }
}
`;

/**
 * The module with real tofu (hcloud mocked; the channel only rendered: `node_channel.apply =
 * false`, nothing connects anywhere). Node addresses and the private control-plane endpoint the
 * scripts fall back to lie in the lab's own 127.0.<slot>.0/24, and the server token is the
 * lab's, so the drop-ins fit the running lab.
 */
function renderChannel(slot: number, token: string): Rendered {
  const dir = mkdtempSync(join(tmpdir(), 'rke2ops-channel-'));
  try {
    const out = join(dir, 'channel.json');
    writeFileSync(
      join(dir, 'main.tf'),
      `
terraform {
  required_providers {
    hcloud = { source = "hetznercloud/hcloud" }
  }
}
variable "out" { type = string }
module "cluster" {
  source                 = "${join(REPO, 'module')}"
  cluster_name           = "${NAME}"
  hcloud_token           = "${'h'.repeat(64)}"
  rke2_token             = "${token}"
  master_count           = 3
  worker_count           = 0
  network_ip_range       = "127.0.0.0/8"
  subnet_ip_range        = "127.0.${slot}.0/24"
  cluster_configuration  = { hcloud_ccm = { networking = false } }
  node_channel           = { apply = false }
  wait_for_cluster_ready = false
}
resource "terraform_data" "dump" {
  provisioner "local-exec" {
    command     = "umask 077 && printf '%s' \\"$CHANNEL\\" > \\"$OUT\\""
    environment = {
      OUT     = var.out
      CHANNEL = jsonencode({
        scripts  = module.cluster.node_channel_scripts
        payloads = nonsensitive(module.cluster.node_channel_payloads)
        summary  = module.cluster.node_channel
      })
    }
  }
}
`,
    );
    mkdirSync(join(dir, 'tests'));
    writeFileSync(
      join(dir, 'tests', 'render.tftest.hcl'),
      `${MOCKS}\nvariables {\n  out = "${out}"\n}\nrun "render" {\n  command = apply\n}\n`,
    );
    for (const args of [
      ['init', '-backend=false', '-input=false', '-no-color'],
      ['test', '-no-color'],
    ]) {
      const res = spawnSync('tofu', args, {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, TF_IN_AUTOMATION: '1' },
      });
      if (res.status !== 0) throw new Error(`tofu ${args[0]} failed:\n${res.stdout}\n${res.stderr}`);
    }
    return JSON.parse(readFileSync(out, 'utf8')) as Rendered;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Copies the node's payload and script over SSH and runs the script as root. */
async function runChannel(
  lab: Lab,
  node: string,
  rendered: Rendered,
  env: string[] = [],
): Promise<ExecResult> {
  const s = await lab.shell(node);
  await s.check(['install', '-d', '-m', '0700', '/var/lib/rancher/rke2-ops', CHANNEL_DIR]);
  const put = (path: string, text: string) =>
    s.remote.exec(quoteArgv(['sh', '-c', 'umask 077 && cat >"$1"', 'sh', path]), { stdin: text });
  for (const r of [
    await put(`${CHANNEL_DIR}/payload`, rendered.payloads[node]!),
    await put(`${CHANNEL_DIR}/channel.sh`, rendered.scripts[node]!),
  ])
    if (r.code !== 0) throw new Error(`${node}: upload failed: ${r.stderr}`);
  return s.exec(
    quoteArgv(['env', ...env, 'bash', `${CHANNEL_DIR}/channel.sh`, `${CHANNEL_DIR}/payload`]),
    600_000,
  );
}

/** Milliseconds of the day of the first log line containing `what` (the script logs UTC h:m:s.ms). */
function loggedAt(out: string, what: string): number {
  const line = out.split('\n').find((l) => l.includes(what));
  const m = line && /\] (\d\d):(\d\d):(\d\d)\.(\d\d\d) /.exec(line);
  if (!m) throw new Error(`no log line with ${JSON.stringify(what)} in:\n${out}`);
  return ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number(m[4]);
}

async function anonymousStatus(lab: Lab, node: string, path: string): Promise<number> {
  const address = lab.state.nodes.find((n) => n.name === node)!.address;
  return new Promise<number>((resolve, reject) => {
    request(`https://${address}:6443${path}`, { rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', reject)
      .end();
  });
}

async function pids(lab: Lab, node: string): Promise<string> {
  const s = await lab.shell(node);
  const r = await s.check([
    'cat',
    '/var/lib/rancher/rke2/lab/run/rke2-server.pid',
    '/var/lib/rancher/rke2/lab/run/kube-apiserver.pid',
  ]);
  return r.stdout.trim();
}

maybe('module node channel on a lab (3 masters)', () => {
  let lab: Lab;
  let rendered: Rendered;

  beforeAll(async () => {
    lab = await createLab({ masters: 3, workers: 0, name: NAME, scenario: 'none' });
    const cfg = parse(
      (await (await lab.shell(MASTERS[0]!)).check(['cat', '/etc/rancher/rke2/config.yaml'])).stdout,
    ) as {
      token: string;
    };
    // The lab's token is K10<hash>::server:<secret>; the module takes the bare secret.
    rendered = renderChannel(lab.state.slot, cfg.token.split(':').pop()!);
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  test('a master refuses to restart before the masters before it have applied theirs', async () => {
    const before = await pids(lab, MASTERS[1]!);
    const r = await runChannel(lab, MASTERS[1]!, rendered, ['CHANNEL_TIMEOUT=4']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${MASTERS[0]} has not applied its channel content`);
    expect(r.stdout).not.toContain('restarting');
    const s = await lab.shell(MASTERS[1]!);
    // Nothing was written, nothing restarted, and the payload (secrets) is gone.
    expect((await s.run(['test', '-e', '/etc/rancher/rke2/config.yaml.d'])).code).not.toBe(0);
    expect((await s.run(['test', '-e', `${CHANNEL_DIR}/payload`])).code).not.toBe(0);
    expect(await pids(lab, MASTERS[1]!)).toBe(before);
  });

  test('run on every master at once: files written, one restart at a time, each ready before the next', async () => {
    // Before: anonymous requests are let through to RBAC (403), as RKE2 without the module's
    // authentication config.
    expect(await anonymousStatus(lab, MASTERS[0]!, '/api/v1/nodes')).toBe(403);
    const results = await Promise.all(MASTERS.map((m) => runChannel(lab, m, rendered)));
    results.forEach((r, i) => {
      expect({ node: MASTERS[i], code: r.code, stderr: r.stderr }).toEqual({
        node: MASTERS[i],
        code: 0,
        stderr: '',
      });
      expect(r.stdout).toContain('restarting rke2-server');
      expect(r.stdout).toContain('restarted and ready');
    });
    // master-1 waited for master-0, master-2 for both; restarts never overlap.
    expect(results[1]!.stdout).toContain(`waiting for ${MASTERS[0]}`);
    expect(results[2]!.stdout).toContain(`waiting for ${MASTERS[1]}`);
    for (let i = 1; i < 3; i++)
      expect(loggedAt(results[i]!.stdout, 'restarting rke2-server')).toBeGreaterThanOrEqual(
        loggedAt(results[i - 1]!.stdout, 'restarted and ready'),
      );

    for (const m of MASTERS) {
      const s = await lab.shell(m);
      const files = rendered.summary[m]!.files;
      expect(files.map((f) => f.path)).toEqual(
        expect.arrayContaining([
          '/etc/rancher/rke2/config.yaml.d/10-rke2-ops-token.yaml',
          '/etc/rancher/rke2/config.yaml.d/20-rke2-ops-server.yaml',
          '/etc/rancher/rke2/auth-config.yaml',
          '/var/lib/rancher/rke2/server/manifests/hcloud-secret.yaml',
        ]),
      );
      for (const f of files) {
        const r = await s.check(['sh', '-c', 'stat -c "%a %U" "$1" && sha256sum <"$1"', 'sh', f.path]);
        expect(`${f.path}: ${r.stdout.trim().replace(/\s+-$/, '')}`).toBe(`${f.path}: 600 root\n${f.sha256}`);
      }
      expect((await s.run(['systemctl', 'is-active', 'rke2-server'])).stdout.trim()).toBe('active');
      const annotation = await kubectl(s, [
        'get',
        'node',
        m,
        '-o',
        'jsonpath={.metadata.annotations.rke2-ops\\.io/channel-sha256}',
      ]);
      expect(annotation.trim()).toBe(rendered.summary[m]!.sha256);
      // The drop-in's kube-apiserver-arg reached the API server: anonymous requests now reach
      // the health endpoints only.
      expect(await anonymousStatus(lab, m, '/readyz')).toBe(200);
      expect(await anonymousStatus(lab, m, '/api/v1/nodes')).toBe(401);
    }
    const ready = await kubectl(await lab.shell(MASTERS[0]!), [
      'get',
      'nodes',
      '-o',
      'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
    ]);
    expect(ready.trim().split('\n')).toEqual(['True', 'True', 'True']);
  });

  test('run again with the same payloads: nothing changes, nothing restarts', async () => {
    const stamp = async (m: string) =>
      (
        await (
          await lab.shell(m)
        ).check([
          'sh',
          '-c',
          'stat -c "%n %Y %Z" /etc/rancher/rke2/config.yaml.d/* /etc/rancher/rke2/auth-config.yaml',
        ])
      ).stdout;
    const before = await Promise.all(MASTERS.map(async (m) => [await pids(lab, m), await stamp(m)]));
    const results = await Promise.all(MASTERS.map((m) => runChannel(lab, m, rendered)));
    results.forEach((r, i) => {
      expect({ node: MASTERS[i], code: r.code }).toEqual({ node: MASTERS[i], code: 0 });
      expect(r.stdout).toContain('no changes');
      expect(r.stdout).not.toContain('restarting');
      expect(r.stdout).not.toContain('waiting for');
    });
    const after = await Promise.all(MASTERS.map(async (m) => [await pids(lab, m), await stamp(m)]));
    expect(after).toEqual(before);
  });
});

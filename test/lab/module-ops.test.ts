/**
 * The module's operations on a lab (module/docs/ARCHITECTURE.md "Operations: backup, upgrade,
 * rollback"): real `tofu` renders the module for a cluster named like the lab - etcd backups to
 * the lab's S3 and Velero on, nothing applied anywhere (`node_channel.apply = false`, the channel
 * and the upgrade chain only rendered) - once per RKE2 version the tests need, and the rendered
 * scripts run as root over real SSH on the lab's nodes:
 *
 * - the node channel delivers the etcd backup drop-in to the running masters (one restart at a
 *   time); RKE2 then takes compressed snapshots, as the module says and the lab did not;
 * - the health check passes on the healthy lab and names a failing URL;
 * - the pre-upgrade snapshot records the real `<name>-<node>-<unixts>.zip` from `rke2
 *   etcd-snapshot ls -o json`, proves its S3 copy and makes a Velero backup; with S3 down it
 *   fails although RKE2 still says `saved`;
 * - the upgrade scripts, run on every node at once, upgrade masters one at a time, then the
 *   worker; the health check passes at the new version; a re-run changes nothing; a downgrade is
 *   refused;
 * - after the bad-upgrade scenario the health check fails naming the crash-looping CoreDNS pods,
 *   their kubelet version and every node still on the wrong version.
 *
 * Lab differences handled here: the lab's install script is /usr/local/bin/rke2-install.sh
 * (RKE2_OPS_INSTALL_COMMAND), and its workers have no kubelet kubeconfig - the worker gets one
 * at RKE2's path, with the lab's one admin identity. Skipped, with the reason printed, when tofu
 * is missing (scripts/setup-tools.sh tofu).
 */
import { jest } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { quoteArgv } from '../../src/lib/quote.js';
import type { ExecResult } from '../../src/ssh/index.js';
import { createLab, type CreateLabOptions, type Lab } from './lab.js';
import { REPO } from './paths.js';
import { kubectl, kubectlJson } from './helpers.js';
import { BASE_VERSION, BAD_VERSION } from './release-table.js';

jest.setTimeout(900_000);

const NAME = 'mod-ops';
const MASTERS = [0, 1, 2].map((i) => `${NAME}-master-${i}`);
const WORKER = `${NAME}-worker-0`;
const NODES = [...MASTERS, WORKER];
const GOOD_VERSION = 'v1.34.6+rke2r1';
const OPS_DIR = '/var/lib/rancher/rke2-ops';
const CHANNEL_DIR = `${OPS_DIR}/channel`;
const SNAPSHOTS = '/var/lib/rancher/rke2/server/db/snapshots';

const haveTofu = spawnSync('sh', ['-c', 'command -v tofu'], { encoding: 'utf8' }).status === 0;
if (!haveTofu)
  process.stderr.write('[lab] SKIP module-ops: tofu not on PATH (scripts/setup-tools.sh tofu)\n');
const maybe = haveTofu || process.env.CI === 'true' ? describe : describe.skip;

interface Rendered {
  scripts: { pre_upgrade_snapshot: string; health_check: string; upgrade: Record<string, string> };
  channel: Record<string, string>;
  payloads: Record<string, string>;
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
 * The module with real tofu, once per version (hcloud mocked; `node_channel.apply = false`:
 * nothing connects anywhere, the channel and the upgrade chain are only rendered). Addresses lie
 * in the lab's 127.0.<slot>.0/24, the server token is the lab's, and the backups go to the lab's
 * S3 (its config.yaml keeps `etcd-s3-insecure: true` for the plain-HTTP s3rver). Each output is
 * dumped by its own provisioner: one environment string may hold at most 128 KiB.
 */
function render(lab: Lab, token: string, urls: string[], versions: string[]): Record<string, Rendered> {
  const dir = mkdtempSync(join(tmpdir(), 'rke2ops-ops-'));
  try {
    const s3 = lab.s3;
    const modules = versions.map((v, i) => {
      const id = `v${i}`;
      const out = (what: string) => join(dir, `${id}-${what}.json`);
      return {
        v,
        id,
        out,
        hcl: `
module "${id}" {
  source                 = "${join(REPO, 'module')}"
  cluster_name           = "${NAME}"
  hcloud_token           = "${'h'.repeat(64)}"
  rke2_token             = "${token}"
  rke2_version           = "${v}"
  master_count           = 3
  worker_count           = 1
  network_ip_range       = "127.0.0.0/8"
  subnet_ip_range        = "127.0.${lab.state.slot}.0/24"
  health_check_urls      = ${JSON.stringify(urls)}
  cluster_configuration  = {
    hcloud_ccm  = { networking = false }
    etcd_backup = {
      enabled       = true
      s3_endpoint   = "${s3.endpoint}"
      s3_bucket     = "${s3.bucket}"
      s3_folder     = "${s3.folder}"
      s3_region     = "${s3.region}"
      s3_access_key = "${s3.accessKeyId}"
      s3_secret_key = "${s3.secretAccessKey}"
    }
  }
  velero                 = { enabled = true }
  node_channel           = { apply = false }
  wait_for_cluster_ready = false
}
${['scripts', 'channel', 'payloads']
  .map(
    (what) => `
resource "terraform_data" "${id}_${what}" {
  provisioner "local-exec" {
    command     = "umask 077 && printf '%s' \\"$DATA\\" > \\"$OUT\\""
    environment = {
      OUT  = "${out(what)}"
      DATA = jsonencode(${
        what === 'scripts'
          ? `module.${id}.upgrade_scripts`
          : what === 'channel'
            ? `module.${id}.node_channel_scripts`
            : `nonsensitive(module.${id}.node_channel_payloads)`
      })
    }
  }
}`,
  )
  .join('\n')}
`,
      };
    });
    writeFileSync(
      join(dir, 'main.tf'),
      `terraform {\n  required_providers {\n    hcloud = { source = "hetznercloud/hcloud" }\n  }\n}\n${modules.map((m) => m.hcl).join('\n')}`,
    );
    mkdirSync(join(dir, 'tests'));
    writeFileSync(
      join(dir, 'tests', 'render.tftest.hcl'),
      `${MOCKS}\nrun "render" {\n  command = apply\n}\n`,
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
    const read = (m: (typeof modules)[number], what: string) =>
      JSON.parse(readFileSync(m.out(what), 'utf8')) as never;
    return Object.fromEntries(
      modules.map((m) => [
        m.v,
        { scripts: read(m, 'scripts'), channel: read(m, 'channel'), payloads: read(m, 'payloads') },
      ]),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Uploads text files (0600) to a node and runs `bash <script> [args]` as root with env. */
async function runScript(
  lab: Lab,
  node: string,
  script: string,
  opts: { env?: string[]; args?: string[]; files?: Record<string, string>; name?: string } = {},
): Promise<ExecResult> {
  const s = await lab.shell(node);
  await s.check(['install', '-d', '-m', '0700', OPS_DIR, CHANNEL_DIR]);
  const path = `${OPS_DIR}/${opts.name ?? 'script'}.sh`;
  const put = (p: string, text: string) =>
    s.remote.exec(quoteArgv(['sh', '-c', 'umask 077 && cat >"$1"', 'sh', p]), { stdin: text });
  for (const [p, text] of Object.entries({ ...opts.files, [path]: script })) {
    const r = await put(p, text);
    if (r.code !== 0) throw new Error(`${node}: upload of ${p} failed: ${r.stderr}`);
  }
  return s.exec(quoteArgv(['env', ...(opts.env ?? []), 'bash', path, ...(opts.args ?? [])]), 600_000);
}

/** Milliseconds of the day of the first log line containing `what` (the scripts log UTC h:m:s.ms). */
function loggedAt(out: string, what: string): number {
  const line = out.split('\n').find((l) => l.includes(what));
  const m = line && /\] (\d\d):(\d\d):(\d\d)\.(\d\d\d) /.exec(line);
  if (!m) throw new Error(`no log line with ${JSON.stringify(what)} in:\n${out}`);
  return ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number(m[4]);
}

async function installed(lab: Lab, node: string): Promise<string> {
  return (await (await lab.shell(node)).check(['rke2', '--version'])).stdout.split('\n')[0]!.split(' ')[2]!;
}

async function unitPid(lab: Lab, node: string): Promise<string> {
  const unit = node === WORKER ? 'rke2-agent' : 'rke2-server';
  const r = await (await lab.shell(node)).check(['cat', `/var/lib/rancher/rke2/lab/run/${unit}.pid`]);
  return r.stdout.trim();
}

interface NodeList {
  items: {
    metadata: { name: string; annotations?: Record<string, string> };
    spec: { unschedulable?: boolean };
    status: { nodeInfo: { kubeletVersion: string } };
  }[];
}

maybe('module operations on a lab (3 masters + 1 worker): backups, upgrade, health', () => {
  let lab: Lab;
  let rendered: Record<string, Rendered>;
  let heartbeat: Server;
  let heartbeatStatus = 200;
  let goodSnapshot = '';

  beforeAll(async () => {
    heartbeat = createServer((req, res) => {
      res.writeHead(req.url === '/heartbeat' ? heartbeatStatus : 404).end();
    });
    await new Promise<void>((resolve) => heartbeat.listen(0, '127.0.0.1', resolve));
    const port = (heartbeat.address() as { port: number }).port;

    // Lab part 2's fast preset (same behaviour, short waits; the file passes on its realistic
    // timing too, in ~250 s instead of ~115 s). A lab without timing knobs ignores it.
    const options: CreateLabOptions & { timing?: 'fast' } = {
      masters: 3,
      workers: 1,
      name: NAME,
      scenario: 'healthy',
      compress: false,
      timing: 'fast',
    };
    lab = await createLab(options);
    const m0 = await lab.shell(MASTERS[0]!);
    const cfg = parse((await m0.check(['cat', '/etc/rancher/rke2/config.yaml'])).stdout) as { token: string };
    // The lab's token is K10<hash>::server:<secret>; the module takes the bare secret.
    rendered = render(
      lab,
      cfg.token.split(':').pop()!,
      [`http://127.0.0.1:${port}/heartbeat`],
      [BASE_VERSION, GOOD_VERSION, BAD_VERSION],
    );
    // RKE2 agents read the API with their kubelet's kubeconfig; the lab's workers have none.
    const admin = (await m0.check(['cat', '/etc/rancher/rke2/rke2.yaml'])).stdout;
    const w = await lab.shell(WORKER);
    await w.check(['install', '-d', '-m', '0700', '/var/lib/rancher/rke2/agent']);
    const r = await w.remote.exec(
      quoteArgv(['sh', '-c', 'umask 077 && cat >/var/lib/rancher/rke2/agent/kubelet.kubeconfig']),
      { stdin: admin },
    );
    if (r.code !== 0) throw new Error(`kubelet kubeconfig on ${WORKER}: ${r.stderr}`);
  });
  afterAll(async () => {
    await lab?.destroy();
    await new Promise<void>((resolve) => (heartbeat ? heartbeat.close(() => resolve()) : resolve()));
  });

  test('the node channel brings the etcd backup settings to the running masters, one restart at a time', async () => {
    const v = rendered[BASE_VERSION]!;
    const results = await Promise.all(
      MASTERS.map((m) =>
        runScript(lab, m, v.channel[m]!, {
          name: 'channel',
          args: [`${CHANNEL_DIR}/payload`],
          files: { [`${CHANNEL_DIR}/payload`]: v.payloads[m]! },
        }),
      ),
    );
    results.forEach((r, i) =>
      expect({ node: MASTERS[i], code: r.code, stderr: r.stderr }).toEqual({
        node: MASTERS[i],
        code: 0,
        stderr: '',
      }),
    );
    for (let i = 1; i < 3; i++)
      expect(loggedAt(results[i]!.stdout, 'restarting rke2-server')).toBeGreaterThanOrEqual(
        loggedAt(results[i - 1]!.stdout, 'restarted and ready'),
      );
    for (const m of MASTERS) {
      const r = await (
        await lab.shell(m)
      ).check(['stat', '-c', '%a %U', '/etc/rancher/rke2/config.yaml.d/30-rke2-ops-etcd-backup.yaml']);
      expect(r.stdout.trim()).toBe('600 root');
    }
  });

  test('health check: passes on the healthy lab, names a URL that does not answer', async () => {
    const script = rendered[BASE_VERSION]!.scripts.health_check;
    const ok = await runScript(lab, MASTERS[0]!, script, { name: 'health', env: ['HEALTH_CHECK_URLS=1'] });
    expect({ code: ok.code, stderr: ok.stderr }).toEqual({ code: 0, stderr: '' });
    expect(ok.stdout).toContain(
      `PASS: /readyz ok; 4 node(s) Ready at ${BASE_VERSION}; system pods healthy; 1 URL(s) answering`,
    );

    // By default the URLs wait for a recorded upgrade (a new cluster serves no application yet).
    heartbeatStatus = 503;
    const fresh = await runScript(lab, MASTERS[0]!, script, { name: 'health' });
    expect(fresh.code).toBe(0);
    expect(fresh.stdout).toContain('URLs not checked: no upgrade to');

    const down = await runScript(lab, MASTERS[0]!, script, {
      name: 'health',
      env: ['HEALTH_CHECK_URLS=1', 'HEALTH_TIMEOUT=6'],
    });
    heartbeatStatus = 200;
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/FAIL: URL http:\/\/127\.0\.0\.1:\d+\/heartbeat answered 503/);
  });

  test('pre-upgrade snapshot: the real file name, its S3 copy and a Velero backup, recorded', async () => {
    const r = await runScript(lab, MASTERS[0]!, rendered[GOOD_VERSION]!.scripts.pre_upgrade_snapshot, {
      name: 'snapshot',
    });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const file = /^PRE_UPGRADE_SNAPSHOT=(.+)$/m.exec(r.stdout)?.[1] ?? '';
    // RKE2 appends the node name and the unix time; compressed, as the module's drop-in says
    // (the lab was created without compression).
    expect(file).toMatch(new RegExp(`^pre-upgrade-\\d{8}-\\d{6}-${MASTERS[0]}-\\d{10}\\.zip$`));
    goodSnapshot = file;
    const s = await lab.shell(MASTERS[0]!);
    expect(
      (await s.check(['cat', '/var/lib/rancher/rke2/server/last-pre-upgrade-snapshot'])).stdout.trim(),
    ).toBe(file);
    expect((await s.run(['test', '-s', `${SNAPSHOTS}/${file}`])).code).toBe(0);
    const ls = JSON.parse((await s.check(['rke2', 'etcd-snapshot', 'ls', '-o', 'json'])).stdout) as {
      items: { spec: { snapshotName: string; location: string } }[];
    };
    expect(
      ls.items.filter((i) => i.spec.snapshotName === file).map((i) => i.spec.location.split(':')[0]),
    ).toEqual(expect.arrayContaining(['file', 's3']));
    expect(
      ls.items.find((i) => i.spec.snapshotName === file && i.spec.location.startsWith('s3:'))?.spec.location,
    ).toBe(`s3://${lab.s3.bucket}/${lab.s3.folder}/${file}`);
    const record = JSON.parse(
      (await s.check(['cat', `${OPS_DIR}/pre-upgrade-snapshot.json`])).stdout,
    ) as Record<string, unknown>;
    expect(record).toMatchObject({
      file,
      node: MASTERS[0],
      to_version: GOOD_VERSION,
      from_versions: Object.fromEntries(NODES.map((n) => [n, BASE_VERSION])),
      s3_location: `s3://${lab.s3.bucket}/${lab.s3.folder}/${file}`,
    });
    const backup = await kubectlJson<{ status: { phase: string } }>(s, [
      '-n',
      'velero',
      'get',
      'backups.velero.io',
      String(record.velero_backup),
    ]);
    expect(backup.status.phase).toBe('Completed');
  });

  // Written against lab part 2's S3 faults (issue 9: lab.s3Down / s3Up, a failed upload still
  // "saved"); skipped with the reason printed on a lab without them.
  test('pre-upgrade snapshot with the S3 down: fails, although RKE2 says saved', async () => {
    const faults = lab as Lab & {
      s3Down?: (o?: { mode?: string }) => Promise<void>;
      s3Up?: () => Promise<void>;
    };
    if (typeof faults.s3Down !== 'function' || typeof faults.s3Up !== 'function') {
      process.stderr.write(
        '[lab] SKIP module-ops S3-down case: this lab has no s3Down()/s3Up() (lab part 2)\n',
      );
      return;
    }
    await faults.s3Down({ mode: 'refuse' });
    let r: ExecResult;
    try {
      r = await runScript(lab, MASTERS[0]!, rendered[GOOD_VERSION]!.scripts.pre_upgrade_snapshot, {
        name: 'snapshot',
        env: ['UPGRADE_TIMEOUT=60'],
      });
    } finally {
      await faults.s3Up();
    }
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/Snapshot pre-upgrade-\S+ saved\./);
    expect(r.stderr).toMatch(/FAIL: .*(no ready copy in S3|etcd-snapshot ls failed)/);
    expect(r.stdout).not.toContain('PRE_UPGRADE_SNAPSHOT=');
    // The last good record stands.
    const s = await lab.shell(MASTERS[0]!);
    expect(
      (await s.check(['cat', '/var/lib/rancher/rke2/server/last-pre-upgrade-snapshot'])).stdout.trim(),
    ).toBe(goodSnapshot);
  });

  test('rolling upgrade on every node at once: masters one at a time, then the worker; healthy; a re-run changes nothing', async () => {
    const v = rendered[GOOD_VERSION]!;
    const env = ['RKE2_OPS_INSTALL_COMMAND=/usr/local/bin/rke2-install.sh'];
    const results = await Promise.all(
      NODES.map((n) => runScript(lab, n, v.scripts.upgrade[n]!, { name: 'upgrade', env })),
    );
    results.forEach((r, i) =>
      expect({ node: NODES[i], code: r.code, stderr: r.stderr }).toEqual({
        node: NODES[i],
        code: 0,
        stderr: '',
      }),
    );
    // Each node restarts only once the one before it runs the new version again: no two
    // restarts overlap.
    expect(results[1]!.stdout).toContain(`waiting for ${MASTERS[0]} to run ${GOOD_VERSION}`);
    for (let i = 1; i < NODES.length; i++)
      expect(loggedAt(results[i]!.stdout, 'restarting rke2-')).toBeGreaterThanOrEqual(
        loggedAt(results[i - 1]!.stdout, `Node ${NODES[i - 1]} runs ${GOOD_VERSION}`),
      );
    for (const n of NODES) expect(await installed(lab, n)).toBe(GOOD_VERSION);
    const nodes = await kubectlJson<NodeList>(await lab.shell(MASTERS[0]!), ['get', 'nodes']);
    expect(
      nodes.items.map((n) => [
        n.metadata.name,
        n.status.nodeInfo.kubeletVersion,
        n.spec.unschedulable ?? false,
        n.metadata.annotations?.['rke2-ops.io/cordoned-for-upgrade'] ?? null,
      ]),
    ).toEqual(NODES.map((n) => [n, GOOD_VERSION, false, null]));

    const health = await runScript(lab, MASTERS[0]!, v.scripts.health_check, { name: 'health' });
    expect({ code: health.code, stderr: health.stderr }).toEqual({ code: 0, stderr: '' });
    // The upgrade is recorded: the URLs are checked now.
    expect(health.stdout).toContain('1 URL(s) answering');

    const pids = await Promise.all(NODES.map((n) => unitPid(lab, n)));
    const again = await Promise.all(
      NODES.map((n) => runScript(lab, n, v.scripts.upgrade[n]!, { name: 'upgrade', env })),
    );
    again.forEach((r, i) => {
      expect({ node: NODES[i], code: r.code }).toEqual({ node: NODES[i], code: 0 });
      expect(r.stdout).toContain('nothing to do');
    });
    expect(await Promise.all(NODES.map((n) => unitPid(lab, n)))).toEqual(pids);
    const snap = await runScript(lab, MASTERS[0]!, v.scripts.pre_upgrade_snapshot, { name: 'snapshot' });
    expect(snap.code).toBe(0);
    expect(snap.stdout).toContain('nothing to upgrade, no snapshot taken');
  });

  test('a downgrade is refused by the snapshot and the upgrade scripts, which change nothing', async () => {
    const v = rendered[BASE_VERSION]!;
    const pid = await unitPid(lab, MASTERS[1]!);
    const snap = await runScript(lab, MASTERS[0]!, v.scripts.pre_upgrade_snapshot, { name: 'snapshot' });
    expect(snap.code).toBe(1);
    expect(snap.stderr).toContain(
      `runs ${GOOD_VERSION}, newer than the target ${BASE_VERSION}: refusing a downgrade`,
    );
    expect(snap.stderr).toContain('actions/rollback');
    const up = await runScript(lab, MASTERS[1]!, v.scripts.upgrade[MASTERS[1]!]!, {
      name: 'upgrade',
      env: ['RKE2_OPS_INSTALL_COMMAND=/usr/local/bin/rke2-install.sh'],
    });
    expect(up.code).toBe(1);
    expect(up.stderr).toContain('refusing a downgrade');
    expect(await installed(lab, MASTERS[1]!)).toBe(GOOD_VERSION);
    expect(await unitPid(lab, MASTERS[1]!)).toBe(pid);
  });

  test('after the bad upgrade the health check fails, naming the failing pods and the versions', async () => {
    await lab.applyScenario('bad-upgrade');
    // As after an upgrade to the bad release: CoreDNS crash-loops on it.
    const bad = await runScript(lab, MASTERS[0]!, rendered[BAD_VERSION]!.scripts.health_check, {
      name: 'health',
      env: ['HEALTH_TIMEOUT=8', 'HEALTH_CHECK_URLS=0'],
    });
    expect(bad.code).toBe(1);
    const dns = await kubectl(await lab.shell(MASTERS[0]!), [
      '-n',
      'kube-system',
      'get',
      'pods',
      '-l',
      'k8s-app=kube-dns',
      '-o',
      'jsonpath={.items[*].metadata.name}',
    ]);
    const dnsPods = dns.trim().split(/\s+/);
    expect(dnsPods.length).toBeGreaterThan(0);
    for (const p of dnsPods)
      expect(bad.stderr).toMatch(
        new RegExp(
          `FAIL: CoreDNS pod kube-system/${p} on ${NAME}-\\S+ \\(kubelet ${BAD_VERSION.replace(/[.+]/g, '\\$&')}\\): .*CrashLoopBackOff`,
        ),
      );
    expect(bad.stderr).toContain(`FAIL: CoreDNS: 0 healthy pod(s) (k8s-app=kube-dns), expected at least 1`);
    expect(bad.stderr).toContain('actions/rollback');

    // As tofu expects it (rke2_version still the good release): every node on the wrong version.
    const skew = await runScript(lab, MASTERS[0]!, rendered[GOOD_VERSION]!.scripts.health_check, {
      name: 'health',
      env: ['HEALTH_TIMEOUT=5', 'HEALTH_CHECK_URLS=0'],
    });
    expect(skew.code).toBe(1);
    for (const n of NODES)
      expect(skew.stderr).toContain(`FAIL: node ${n} runs ${BAD_VERSION}, expected ${GOOD_VERSION}`);
  });
});

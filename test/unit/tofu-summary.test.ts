import { countsLine, summarisePlan } from '../../src/tofu/summary.js';
import { plan, rc, server } from './tofu-fixtures.js';

const m0 = server('prod-master-0', { role: 'master', 'rke2-initial-server': 'true' });
const m1 = server('prod-master-1', { role: 'master', 'rke2-initial-server': 'false' });
const w0 = server('prod-worker-0', { role: 'worker' });
const codes = (p: ReturnType<typeof summarisePlan>) =>
  p.warnings.map((w) => `${w.severity}:${w.code}:${w.address}`);

describe('counts', () => {
  test('follow tofu: a replacement is one add and one destroy; reads, no-ops and forgets are not changes', () => {
    const s = summarisePlan(
      plan([
        rc('hcloud_network.this', ['create'], null, { name: 'n' }),
        rc('hcloud_firewall.workers', ['update'], { name: 'a' }, { name: 'b' }),
        rc('hcloud_server.worker[0]', ['delete', 'create'], w0, w0),
        rc('hcloud_ssh_key.old', ['delete'], { name: 'k' }, null),
        rc('hcloud_volume.kept', ['no-op'], { size: 10 }, { size: 10 }),
        rc('hcloud_volume.dropped', ['forget'], { size: 10 }, null),
        { ...rc('data.hcloud_image.x', ['read'], null, { id: 1 }), mode: 'data' },
      ]),
    );
    expect(s.counts).toEqual({ add: 2, change: 1, destroy: 2, replace: 1, import: 0, move: 0, forget: 1 });
    expect(countsLine(s.counts)).toBe('2 to add, 1 to change, 2 to destroy (1 to replace, 1 to forget)');
    expect(s.destructive).toBe(true);
    expect(s.resources.map((r) => `${r.action} ${r.address}`)).toEqual([
      'create hcloud_network.this',
      'update hcloud_firewall.workers',
      'replace hcloud_server.worker[0]',
      'delete hcloud_ssh_key.old',
      'forget hcloud_volume.dropped',
    ]);
  });

  test('moves and imports are listed; output-only changes still count as changes', () => {
    const s = summarisePlan(
      plan(
        [
          rc('hcloud_server.master[0]', ['no-op'], m0, m0, { previous_address: 'hcloud_server.server[0]' }),
          rc('hcloud_network.this', ['no-op'], { a: 1 }, { a: 1 }, { change: { importing: { id: '42' } } }),
        ],
        { output_changes: { kube_api_endpoint: { actions: ['update'], before: 'a', after: 'b' } } },
      ),
    );
    expect(s.counts).toMatchObject({ add: 0, change: 0, destroy: 0, move: 1, import: 1 });
    expect(s.resources).toEqual([
      expect.objectContaining({
        address: 'hcloud_server.master[0]',
        previousAddress: 'hcloud_server.server[0]',
      }),
      expect.objectContaining({ address: 'hcloud_network.this', importing: true }),
    ]);
    expect(s.outputChanges).toEqual(['kube_api_endpoint']);
    expect(s.changes).toBe(true);
    expect(s.destructive).toBe(false);
  });
});

describe('masters', () => {
  test('master-0 replacement is critical and names what forces it; other masters warn; workers notice', () => {
    const s = summarisePlan(
      plan([
        rc(
          'module.cluster.hcloud_server.master[0]',
          ['delete', 'create'],
          m0,
          { ...(m0 as object), image: 'x' },
          {
            change: { replace_paths: [['image']] },
          },
        ),
        rc('module.cluster.hcloud_server.master[1]', ['create', 'delete'], m1, m1),
        rc('module.cluster.hcloud_server.worker[0]', ['delete', 'create'], w0, w0),
      ]),
    );
    expect(codes(s)).toEqual([
      'critical:master-0-replaced:module.cluster.hcloud_server.master[0]',
      'warning:master-replaced:module.cluster.hcloud_server.master[1]',
      'notice:worker-replaced:module.cluster.hcloud_server.worker[0]',
    ]);
    expect(s.warnings[0]!.message).toMatch(
      /master-0 .*\(prod-master-0\) will be REPLACED, forced by a change of image/,
    );
  });

  test('destroying masters (scaling down) warns about etcd; master-0 by label even when not index 0', () => {
    const s = summarisePlan(
      plan([
        rc(
          'hcloud_server.cp["a"]',
          ['delete'],
          server('x-cp-a', { role: 'master', 'rke2-initial-server': 'true' }),
          null,
        ),
        rc('hcloud_server.master[2]', ['delete'], server('prod-master-2', { role: 'master' }), null),
      ]),
    );
    expect(codes(s)).toEqual([
      'critical:master-0-destroyed:hcloud_server.cp["a"]',
      'warning:master-destroyed:hcloud_server.master[2]',
    ]);
    expect(s.warnings[1]!.message).toMatch(/odd number of masters/);
  });

  test('updates in place, creates and unrelated resources named master raise nothing', () => {
    const s = summarisePlan(
      plan([
        rc('hcloud_server.master[0]', ['update'], m0, { ...(m0 as object), server_type: 'cx33' }),
        rc('hcloud_server.master[3]', ['create'], null, server('prod-master-3', { role: 'master' })),
        rc(
          'tls_private_key.master_host[0]',
          ['delete', 'create'],
          { algorithm: 'ED25519' },
          { algorithm: 'ED25519' },
        ),
      ]),
    );
    expect(s.warnings).toEqual([]);
  });

  test('a sensitive name or label is never read into a message', () => {
    const s = summarisePlan(
      plan([
        rc(
          'hcloud_server.node[0]',
          ['delete', 'create'],
          server('secret-master-0', { role: 'master' }),
          null,
          {
            change: { before_sensitive: { name: true } },
          },
        ),
      ]),
    );
    expect(s.warnings[0]!.message).not.toContain('secret-master-0');
    expect(s.warnings[0]!.code).toBe('master-0-replaced');
  });
});

describe('load balancers and firewalls', () => {
  const rule = (port: string, sources = ['10.0.0.0/8']) => ({
    direction: 'in',
    protocol: 'tcp',
    port,
    source_ips: sources,
  });

  test('a firewall rule on 2379-2380 opened to the world is critical; 6443 changes warn', () => {
    const s = summarisePlan(
      plan([
        rc(
          'hcloud_firewall.masters',
          ['update'],
          { rule: [rule('22'), rule('6443')] },
          {
            rule: [rule('22'), rule('6443', ['0.0.0.0/0']), rule('2379-2380', ['0.0.0.0/0'])],
          },
        ),
      ]),
    );
    expect(codes(s)).toEqual(['critical:control-plane-ports:hcloud_firewall.masters']);
    expect(s.warnings[0]!.message).toMatch(
      /2379 \(etcd client\), 2380 \(etcd peer\), 6443 \(Kubernetes API\)/,
    );
  });

  test('"any" covers every control-plane port; rules on other ports do not warn', () => {
    const any = summarisePlan(
      plan([
        rc('hcloud_firewall.x', ['update'], { rule: [rule('22')] }, { rule: [rule('22'), rule('any')] }),
      ]),
    );
    expect(any.warnings[0]!.message).toMatch(/6443.*9345/);
    const other = summarisePlan(
      plan([rc('hcloud_firewall.x', ['update'], { rule: [rule('22')] }, { rule: [rule('80')] })]),
    );
    expect(other.warnings).toEqual([]);
  });

  test('LB service on 9345 changed or destroyed warns; the control-plane LB replaced warns', () => {
    const svc = { listen_port: 9345, destination_port: 9345, health_check: [{ port: 9345, interval: 10 }] };
    const s = summarisePlan(
      plan([
        rc('hcloud_load_balancer_service.supervisor[0]', ['update'], svc, {
          ...svc,
          health_check: [{ port: 9345, interval: 30 }],
        }),
        rc(
          'hcloud_load_balancer_service.kube_api[0]',
          ['delete'],
          { listen_port: 6443, destination_port: 6443 },
          null,
        ),
        rc(
          'hcloud_load_balancer.control_plane[0]',
          ['delete', 'create'],
          { name: 'x-control-plane', labels: { role: 'control-plane' } },
          {},
        ),
        rc(
          'hcloud_load_balancer_service.ingress["443"]',
          ['delete'],
          { listen_port: 443, destination_port: 443 },
          null,
        ),
      ]),
    );
    expect(codes(s)).toEqual([
      'warning:control-plane-ports:hcloud_load_balancer_service.supervisor[0]',
      'warning:control-plane-ports:hcloud_load_balancer_service.kube_api[0]',
      'warning:control-plane-lb:hcloud_load_balancer.control_plane[0]',
    ]);
  });
});

describe('backups', () => {
  test('etcd_s3 / velero going to null in ops_inventory and enabled -> false in resources warn', () => {
    const s = summarisePlan(
      plan(
        [
          rc(
            'terraform_data.cfg',
            ['update'],
            { input: { etcd_backup: { enabled: true } } },
            { input: { etcd_backup: { enabled: false } } },
          ),
        ],
        {
          output_changes: {
            ops_inventory: {
              actions: ['update'],
              before: {
                etcd_s3: { bucket: 'b' },
                velero: { namespace: 'velero' },
                rke2: { version: 'v1.34.4+rke2r1' },
              },
              after: { etcd_s3: null, velero: { namespace: 'velero' }, rke2: { version: 'v1.34.4+rke2r1' } },
            },
          },
        },
      ),
    );
    expect(codes(s)).toEqual([
      'warning:backup-disabled:terraform_data.cfg',
      'warning:backup-disabled:output.ops_inventory',
    ]);
    expect(s.warnings[1]!.message).toMatch(/etcd_s3 goes from enabled to disabled/);
  });

  test('destroying a backup component warns; turning backups on or unknown values do not', () => {
    const s = summarisePlan(
      plan([
        rc('helm_release.velero', ['delete'], { name: 'velero' }, null),
        rc(
          'terraform_data.a',
          ['update'],
          { etcd_backup: { enabled: false } },
          { etcd_backup: { enabled: true } },
        ),
        rc(
          'terraform_data.b',
          ['update'],
          { velero: { enabled: true } },
          {},
          { change: { after_unknown: { velero: true } } },
        ),
      ]),
    );
    expect(codes(s)).toEqual(['warning:backup-disabled:helm_release.velero']);
  });
});

describe('RKE2 version', () => {
  const guard = (v: string) => ({ input: { cluster_name: 'c', rke2_version: v } });

  test('an upgrade is found in resources and outputs, with from and to', () => {
    const s = summarisePlan(
      plan(
        [
          rc(
            'module.cluster.terraform_data.guardrails',
            ['update'],
            guard('v1.34.4+rke2r1'),
            guard('v1.35.1+rke2r1'),
          ),
        ],
        {
          output_changes: {
            ops_inventory: {
              actions: ['update'],
              before: { rke2: { version: 'v1.34.4+rke2r1' } },
              after: { rke2: { version: 'v1.35.1+rke2r1' } },
            },
          },
        },
      ),
    );
    expect(s.rke2Upgrade).toEqual({
      from: 'v1.34.4+rke2r1',
      to: 'v1.35.1+rke2r1',
      direction: 'upgrade',
      sources: [
        'module.cluster.terraform_data.guardrails.input.rke2_version',
        'output.ops_inventory.rke2.version',
      ],
    });
    expect(s.warnings).toEqual([]);
  });

  test('INSTALL_RKE2_VERSION in user data counts; a downgrade is critical; skipping a minor warns', () => {
    const ud = (v: string) => ({
      user_data: `#cloud-config\nruncmd:\n - curl -sfL https://get.rke2.io | INSTALL_RKE2_VERSION='${v}' sh -\n`,
    });
    const down = summarisePlan(
      plan([rc('hcloud_server.master[0]', ['update'], ud('v1.34.4+rke2r1'), ud('v1.33.8+rke2r1'))]),
    );
    expect(down.rke2Upgrade).toMatchObject({
      from: 'v1.34.4+rke2r1',
      to: 'v1.33.8+rke2r1',
      direction: 'downgrade',
    });
    expect(codes(down)).toEqual(['critical:rke2-downgrade:hcloud_server.master[0].user_data']);
    const skip = summarisePlan(
      plan([rc('terraform_data.guardrails', ['update'], guard('v1.33.1+rke2r1'), guard('v1.35.0+rke2r2'))]),
    );
    expect(codes(skip)).toEqual(['warning:rke2-minor-skip:terraform_data.guardrails.input.rke2_version']);
  });

  test('inconsistent changes are reported; sensitive or unknown versions are not read', () => {
    const mixed = summarisePlan(
      plan([
        rc('terraform_data.a', ['update'], guard('v1.34.4+rke2r1'), guard('v1.35.1+rke2r1')),
        rc('terraform_data.b', ['update'], guard('v1.34.4+rke2r1'), guard('v1.35.1+rke2r1')),
        rc('terraform_data.c', ['update'], guard('v1.34.3+rke2r1'), guard('v1.35.0+rke2r1')),
      ]),
    );
    expect(mixed.rke2Upgrade).toMatchObject({ from: 'v1.34.4+rke2r1', to: 'v1.35.1+rke2r1' });
    expect(codes(mixed)).toEqual(['warning:rke2-version-mixed:terraform_data.a.input.rke2_version']);
    const hidden = summarisePlan(
      plan([
        rc('terraform_data.a', ['update'], guard('v1.34.4+rke2r1'), guard('v1.35.1+rke2r1'), {
          change: { after_sensitive: { input: { rke2_version: true } } },
        }),
        rc(
          'terraform_data.b',
          ['update'],
          guard('v1.34.4+rke2r1'),
          { input: {} },
          { change: { after_unknown: { input: true } } },
        ),
      ]),
    );
    expect(hidden.rke2Upgrade).toBeNull();
  });
});

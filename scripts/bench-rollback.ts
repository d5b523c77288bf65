/**
 * Benchmark: the rollback action against the plan's runbook as corrected by rke2-facts.md §10,
 * executed command by command over plain OpenSSH, on the same lab in one run (issue #12;
 * design.md §9). Both restore the same pre-upgrade snapshot after the same bad upgrade and are
 * timed until the health check passes at the snapshot's version.
 *
 *   npx tsx scripts/bench-rollback.ts [--workers 3|30] [--timing realistic|fast] [--name rb-bench]
 *
 * Needs root and the lab tools. Prints: runbook time, action time (MTTR), their ratio (goal
 * <= 0.5x at 3+30), and the action's overhead over the unavoidable critical path - reset +
 * master-0 start + the peer joins + the slowest worker, taken from the action's own phase
 * timings (goal < 5 %).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLab, type Lab } from '../test/lab/lab.js';
import { runRollbackBundle, takeSnapshot, CLI } from '../test/lab/rollback-helpers.js';

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '3' },
    timing: { type: 'string', default: 'realistic' },
    name: { type: 'string', default: 'rb-bench' },
  },
});
const workers = Number(values.workers);
const timing = values.timing as 'realistic' | 'fast';
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** The runbook over plain ssh: one OpenSSH process per command, pinned host keys. */
function sshRunner(lab: Lab) {
  const dir = mkdtempSync(join(tmpdir(), 'rb-bench-ssh-'));
  const known = join(dir, 'known_hosts');
  const port = lab.inventory.ssh.port;
  writeFileSync(
    known,
    [...lab.inventory.masters, ...lab.inventory.workers]
      .flatMap((n) => n.host_keys.map((k) => `[${n.address}]:${port} ${k}`))
      .join('\n') + '\n',
  );
  const addr = new Map([...lab.inventory.masters, ...lab.inventory.workers].map((n) => [n.name, n.address]));
  return async (node: string, command: string) => {
    const r = await run('ssh', [
      '-i',
      lab.privateKeyPath,
      '-p',
      String(port),
      '-o',
      `UserKnownHostsFile=${known}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
      `root@${addr.get(node)}`,
      command,
    ]);
    if (r.code !== 0) throw new Error(`${node}: ${command}: exit ${r.code}\n${r.out}`);
    return r.out;
  };
}

async function healthy(lab: Lab, version: string): Promise<void> {
  const r = await run(process.execPath, [
    CLI,
    'health',
    '--inventory',
    lab.inventoryPath,
    '--ssh-key',
    lab.privateKeyPath,
    '--expected-version',
    version,
    '--timeout',
    '600',
    '--poll-interval',
    '2',
  ]);
  if (r.code !== 0) throw new Error(`health check failed:\n${r.out.slice(-2000)}`);
}

async function main() {
  const lab = await createLab({ masters: 3, workers, name: values.name, scenario: 'healthy', timing });
  try {
    const version = lab.inventory.rke2.version;
    const snapshot = await takeSnapshot(lab);
    const path = `/var/lib/rancher/rke2/server/db/snapshots/${snapshot}`;
    const ssh = sshRunner(lab);
    const [m0, ...peers] = lab.inventory.masters.map((m) => m.name);
    const ws = lab.inventory.workers.map((w) => w.name);

    // 1. The corrected runbook (rke2-facts.md §10), command by command, as an operator types it.
    await lab.applyScenario('bad-upgrade');
    const t0 = performance.now();
    for (const n of [...ws, ...peers, m0!]) await ssh(n, 'rke2-killall.sh >/dev/null');
    for (const n of [m0!, ...peers, ...ws])
      await ssh(
        n,
        `INSTALL_RKE2_VERSION=${version} INSTALL_RKE2_TYPE=${ws.includes(n) ? 'agent' : 'server'} /usr/local/bin/rke2-install.sh`,
      );
    await ssh(
      m0!,
      `rm -f /var/lib/rancher/rke2/server/db/reset-flag; rke2 server --cluster-reset --etcd-s3=false --cluster-reset-restore-path=${path}`,
    );
    await ssh(m0!, 'systemctl start rke2-server');
    for (const p of peers)
      await ssh(
        p,
        'mv /var/lib/rancher/rke2/server/db /var/lib/rancher/rke2/server/db.bak-$(date +%s) && systemctl start rke2-server',
      );
    for (const w of ws) await ssh(w, 'systemctl start rke2-agent');
    const tCommands = performance.now() - t0;
    await healthy(lab, version);
    const runbook = performance.now() - t0;

    // 2. The action (bundle), same snapshot, after the same bad upgrade.
    await lab.applyScenario('bad-upgrade');
    const r = await runRollbackBundle(lab, { snapshot, 'health-timeout': '600s' });
    if (r.code !== 0 || !r.report) throw new Error(`rollback failed:\n${r.stdout.slice(-3000)}`);
    const rep = r.report;
    const phase = (id: string) => rep.phases.find((p) => p.id === id)?.durationSeconds ?? 0;
    const action = rep.mttrSeconds! * 1000;
    const critical =
      (phase('reset') + phase('start-master') + phase('join-peers') + phase('start-workers')) * 1000;
    const restore = action - phase('health') * 1000;

    const rows: [string, string][] = [
      [`lab`, `3+${workers}, ${timing} timing`],
      [`runbook over ssh (commands)`, s(tCommands)],
      [`runbook over ssh (to healthy)`, s(runbook)],
      [`action (bundle) MTTR, to healthy`, s(action)],
      [`ratio action / runbook`, `${(action / runbook).toFixed(2)}x (goal <= 0.5x at 3+30)`],
      [`critical path (reset + master-0 + peers + slowest worker)`, s(critical)],
      [`action to every node Ready (MTTR - health)`, s(restore)],
      [
        `overhead over the critical path`,
        `${(((restore - critical) / critical) * 100).toFixed(1)} % (goal < 5 %)`,
      ],
      [`action phases`, rep.phases.map((p) => `${p.id} ${p.durationSeconds}s`).join(', ')],
    ];
    for (const [k, v] of rows) console.log(`${k.padEnd(58)} ${v}`);
  } finally {
    await lab.destroy();
  }
}

await main();

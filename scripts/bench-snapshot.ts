/**
 * Benchmark: what each verification level of the snapshot action costs on top of a bare
 * `rke2 etcd-snapshot save` (issue #11; design.md section 9: the s3 level adds < 1.5 s), in one
 * run so every figure shares the machine's load.
 *
 *   npx tsx scripts/bench-snapshot.ts [--runs 5] [--masters 1] [--workers 1] [--name snap-bench]
 *
 * Needs root and the lab tools (bash scripts/setup-tools.sh lab). Per run, interleaved (the order
 * rotates from run to run):
 *  - bare:    `ssh -i key master-0 rke2 etcd-snapshot save --name ...` (OpenSSH client, pinned
 *             host key): what a workflow step without this toolkit would run;
 *  - local / s3 / restore: `node bin/rke2-ops.js snapshot save --level <level>` (the CLI: the
 *             same core as the action), process start to exit, Velero off, retention off. The
 *             restore level's etcdutl comes from a local release server once, then the cache.
 * Printed: medians, the ratio to bare and the difference (the goal is on the s3 difference),
 * plus each level's phase breakdown from its report. Leaves nothing running.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLab } from '../test/lab/lab.js';
import { startEtcdReleaseServer } from '../test/helpers/etcd-release-server.js';
import type { SnapshotReport } from '../src/snapshot/types.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    masters: { type: 'string', default: '1' },
    workers: { type: 'string', default: '1' },
    name: { type: 'string', default: 'snap-bench' },
  },
});
const runs = Number(values.runs);
const REPO = new URL('..', import.meta.url).pathname;
const CLI = join(REPO, 'bin/rke2-ops.js');
const LEVELS = ['local', 's3', 'restore'] as const;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const s = (ms: number) => `${(ms / 1000).toFixed(3)} s`;

function exec(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, cwd: tmpdir() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - started }));
  });
}

const t0 = Date.now();
const [lab, etcd] = await Promise.all([
  createLab({
    masters: Number(values.masters),
    workers: Number(values.workers),
    name: values.name!,
    scenario: 'healthy',
    timing: 'fast',
  }),
  startEtcdReleaseServer(),
]);
console.error(`lab ${values.masters}+${values.workers} up in ${s(Date.now() - t0)}`);
try {
  const dir = mkdtempSync(join(tmpdir(), 'bench-snap-'));
  const m0 = lab.inventory.masters[0]!;
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `[${m0.address}]:${lab.inventory.ssh.port} ${m0.host_keys[0]}\n`);
  const sshArgs = [
    '-i',
    lab.privateKeyPath,
    '-p',
    String(lab.inventory.ssh.port),
    '-o',
    `UserKnownHostsFile=${knownHosts}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    `${lab.inventory.ssh.user}@${m0.address}`,
  ];
  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS')),
    RKE2OPS_S3_ACCESS_KEY: lab.s3.accessKeyId,
    RKE2OPS_S3_SECRET_KEY: lab.s3.secretAccessKey,
    RKE2OPS_TOOL_CACHE: join(dir, 'tool-cache'),
  };
  const level = (l: string) =>
    exec(
      process.execPath,
      [
        CLI,
        'snapshot',
        'save',
        '-i',
        lab.inventoryPath,
        '-k',
        lab.privateKeyPath,
        '--json',
        '--level',
        l,
        '--kind',
        'on-demand',
        '--prefix',
        'bench',
        '--velero',
        'false',
        '--retention',
        '0',
        '--etcd-download-base-url',
        etcd.baseUrl,
      ],
      env,
    );
  // Warm-up: the first restore run installs etcdutl into the cache (measured separately).
  const first = await level('restore');
  const firstReport = JSON.parse(first.stdout) as SnapshotReport;
  if (!firstReport.verified) throw new Error(`warm-up not verified: ${first.stderr}`);
  await exec('ssh', [...sshArgs, 'rke2', 'etcd-snapshot', 'save', '--name', 'bench-warm'], env);

  const wall: Record<string, number[]> = { bare: [], local: [], s3: [], restore: [] };
  const phases: Record<string, Record<string, number[]>> = {};
  // The order rotates per run, so a slow first or last slot (the lab settling after a save,
  // another process on the machine) does not always land on the same contender.
  const contenders = ['bare', ...LEVELS] as const;
  for (let i = 0; i < runs; i++) {
    for (let j = 0; j < contenders.length; j++) {
      const c = contenders[(i + j) % contenders.length]!;
      if (c === 'bare') {
        const bare = await exec(
          'ssh',
          [...sshArgs, 'rke2', 'etcd-snapshot', 'save', '--name', `bench-bare-${i}`],
          env,
        );
        if (bare.code !== 0) throw new Error(`bare save failed: ${bare.stderr}`);
        wall.bare!.push(bare.ms);
        continue;
      }
      const r = await level(c);
      const report = JSON.parse(r.stdout) as SnapshotReport;
      if (!report.verified) throw new Error(`${c} not verified: ${r.stderr}`);
      wall[c]!.push(r.ms);
      const p = (phases[c] ??= {});
      for (const ph of report.phases)
        if (ph.status !== 'skipped') (p[ph.name] ??= []).push(ph.durationSeconds * 1000);
      (p['startup'] ??= []).push(report.startupMs);
    }
  }
  const bare = median(wall.bare!);
  const lines = [
    `snapshot benchmark: ${values.masters}+${values.workers} lab (fast timing), ${runs} runs each, medians; CLI on node ${process.version}`,
    `  ${'bare'.padEnd(8)} ${s(bare)}  = ssh master-0 rke2 etcd-snapshot save (OpenSSH; local + S3 upload, no check)`,
  ];
  for (const l of LEVELS) {
    const m = median(wall[l]!);
    const breakdown = Object.entries(phases[l]!)
      .map(([k, v]) => `${k} ${Math.round(median(v))}`)
      .join(', ');
    lines.push(`  ${l.padEnd(8)} ${s(m)}  x${(m / bare).toFixed(2)}  +${s(m - bare)}  (ms: ${breakdown})`);
  }
  const added = median(wall.s3!) - bare;
  lines.push(
    `  etcdutl install (first restore run, download + sha256 + unpack + cache): ${s(first.ms - median(wall.restore!))} more than a cached run`,
    `goal: the s3 level adds < 1.5 s to a bare save: ${s(added)} -> ${added < 1500 ? 'MET' : 'NOT MET'}`,
    `rerun: sudo bash -c 'source .tools/env && npx tsx scripts/bench-snapshot.ts --runs ${runs} --masters ${values.masters} --workers ${values.workers}'`,
  );
  console.log(lines.join('\n'));
} finally {
  await etcd.close();
  await lab.destroy();
}

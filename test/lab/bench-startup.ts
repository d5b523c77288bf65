/**
 * Lab start-up benchmark: time to a healthy lab (scenario "healthy" applied, every Node Ready)
 * and the RSS sum of every lab process, for 3+3 and 3+30 (or the sizes given), with the
 * realistic timing (default) and the fast preset, then teardown time.
 *
 *   npx tsx test/lab/bench-startup.ts                       # 3+3 and 3+30, realistic and fast
 *   npx tsx test/lab/bench-startup.ts 3+3 5+50 --name l2-bench --timing fast
 * Needs root and the lab tools (bash scripts/setup-tools.sh lab && source .tools/env).
 * Uses lab name "bench" unless --name (its own slot/addresses); leaves nothing running.
 */
import { parseArgs } from 'node:util';
import { createLab, labProcesses } from './lab.js';
import { rssKiB } from './procs.js';

interface Row {
  size: string;
  timing: string;
  startS: number;
  processes: number;
  rssMiB: number;
  byKind: Record<string, number>;
  downS: number;
}

function kind(cmd: string): string {
  if (cmd.includes('kube-apiserver')) return 'kube-apiserver';
  if (/\/(etcd|server) /.test(`${cmd} `) || cmd.includes('--initial-advertise-peer-urls')) return 'etcd';
  if (cmd.startsWith('sshd')) return 'sshd';
  if (cmd.includes('s3-lab-server') || cmd.includes('s3rver')) return 's3rver';
  if (cmd.includes('velero-lab-controller')) return 'lab controller';
  if (cmd.startsWith('rke2 ')) return 'unit main processes';
  return 'other';
}

async function bench(
  name: string,
  masters: number,
  workers: number,
  timing: 'realistic' | 'fast',
): Promise<Row> {
  const t0 = performance.now();
  const lab = await createLab({
    masters,
    workers,
    name,
    timing,
    log: (l) => process.stderr.write(`  [${masters}+${workers} ${timing}] ${l}\n`),
  });
  const startS = (performance.now() - t0) / 1000;
  // Steady state: the lab's own SSH sessions closed (a client's sessions are its own cost).
  lab.close();
  await new Promise((r) => setTimeout(r, 1000));
  const procs = labProcesses(lab.state.id, lab.dir);
  const byKind: Record<string, number> = {};
  let total = 0;
  for (const p of procs) {
    const kib = rssKiB(p.pid);
    total += kib;
    byKind[kind(p.cmd)] = (byKind[kind(p.cmd)] ?? 0) + kib / 1024;
  }
  const t1 = performance.now();
  await lab.destroy();
  return {
    size: `${masters}+${workers}`,
    timing,
    startS,
    processes: procs.length,
    rssMiB: total / 1024,
    byKind,
    downS: (performance.now() - t1) / 1000,
  };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { name: { type: 'string', default: 'bench' }, timing: { type: 'string' } },
  });
  const sizes = (positionals.length > 0 ? positionals : ['3+3', '3+30']).map(
    (s) => s.split('+').map(Number) as [number, number],
  );
  const timings = (values.timing ? [values.timing] : ['realistic', 'fast']) as ('realistic' | 'fast')[];
  const rows: Row[] = [];
  for (const [m, w] of sizes) for (const t of timings) rows.push(await bench(values.name!, m, w, t));
  process.stdout.write(
    '\n| lab | timing | start to healthy | processes | RSS sum | teardown |\n|---|---|---|---|---|---|\n',
  );
  for (const r of rows)
    process.stdout.write(
      `| ${r.size} | ${r.timing} | ${r.startS.toFixed(1)} s | ${r.processes} | ${r.rssMiB.toFixed(0)} MiB | ${r.downS.toFixed(1)} s |\n`,
    );
  for (const r of rows) {
    process.stdout.write(
      `\n${r.size} ${r.timing} RSS by kind: ${Object.entries(r.byKind)
        .map(([k, v]) => `${k} ${v.toFixed(0)} MiB`)
        .join(', ')}\n`,
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});

/**
 * Lab start-up benchmark: time to a healthy lab (scenario "healthy" applied) and the RSS sum of
 * every lab process, for 3+3 and 3+30 (or the sizes given), then teardown time.
 *
 *   npx tsx test/lab/bench-startup.ts            # 3+3 and 3+30
 *   npx tsx test/lab/bench-startup.ts 3+3 5+50   # other sizes
 * Needs root and the lab tools (bash scripts/setup-tools.sh lab && source .tools/env).
 * Uses lab name "bench" (its own slot/addresses); leaves nothing running.
 */
import { createLab, labProcesses } from './lab.js';
import { rssKiB } from './procs.js';

interface Row {
  size: string;
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
  if (cmd.includes('s3rver')) return 's3rver';
  if (cmd.includes('velero-lab-controller')) return 'velero-controller';
  if (cmd.startsWith('rke2 ')) return 'unit placeholders';
  return 'other';
}

async function bench(masters: number, workers: number): Promise<Row> {
  const t0 = performance.now();
  const lab = await createLab({
    masters,
    workers,
    name: 'bench',
    log: (l) => process.stderr.write(`  [${masters}+${workers}] ${l}\n`),
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
    startS,
    processes: procs.length,
    rssMiB: total / 1024,
    byKind,
    downS: (performance.now() - t1) / 1000,
  };
}

async function main(): Promise<void> {
  const sizes = (process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['3+3', '3+30']).map(
    (s) => s.split('+').map(Number) as [number, number],
  );
  const rows: Row[] = [];
  for (const [m, w] of sizes) rows.push(await bench(m, w));
  process.stdout.write(
    '\n| lab | start to healthy | processes | RSS sum | teardown |\n|---|---|---|---|---|\n',
  );
  for (const r of rows)
    process.stdout.write(
      `| ${r.size} | ${r.startS.toFixed(1)} s | ${r.processes} | ${r.rssMiB.toFixed(0)} MiB | ${r.downS.toFixed(1)} s |\n`,
    );
  for (const r of rows) {
    process.stdout.write(
      `\n${r.size} RSS by kind: ${Object.entries(r.byKind)
        .map(([k, v]) => `${k} ${v.toFixed(0)} MiB`)
        .join(', ')}\n`,
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});

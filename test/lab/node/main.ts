/**
 * SIMULATION entry point for a lab node: one bundle behind the node's /usr/local/bin/rke2,
 * systemctl, journalctl, rke2-killall.sh and rke2-install.sh wrappers (see test/lab/README.md),
 * plus the lab-only tools `unit-run` (a unit's start-up, run by its main process) and
 * `cron-snapshot` (the server's scheduled snapshot at a chosen time, run by the lab).
 */
import { loadNode, loadConfigYaml, FatalError, installedVersion } from './common.js';
import { parseFlags } from './snapshot.js';
import * as snapshot from './snapshot.js';
import { clusterReset } from './reset.js';
import * as services from './services.js';
import * as unit from './unit.js';
import { install } from './install.js';

// The AWS SDK warns on node 20 that its 2027 releases need node >= 22: noise in every node
// command's stderr and in the unit journal, which tools parse.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const text = `${String(warning)} ${JSON.stringify(rest)}`;
  if (text.includes('NodeVersionSupportWarning') || text.includes('require node >=22')) return;
  (emitWarning as (...a: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;

const BOOLEANS = [
  'etcd-s3',
  's3',
  'cluster-reset',
  'etcd-snapshot-compress',
  'snapshot-compress',
  'etcd-s3-insecure',
  'debug',
];

async function rke2(args: string[]): Promise<number> {
  const node = loadNode();
  const cfg = loadConfigYaml();
  if (args[0] === '--version' || args[0] === '-v' || args[0] === 'version') {
    process.stdout.write(`rke2 version ${installedVersion()} (lab)\ngo version go1.24.11 X:boringcrypto\n`);
    return 0;
  }
  if (args[0] === 'etcd-snapshot') {
    const sub = args[1] && !args[1].startsWith('-') ? args[1] : 'save';
    const flags = parseFlags(args.slice(args[1] === sub ? 2 : 1), BOOLEANS);
    switch (sub) {
      case 'save':
        await snapshot.save(node, cfg, flags);
        return 0;
      case 'ls':
      case 'list':
      case 'l':
        await snapshot.ls(node, cfg, flags);
        return 0;
      case 'delete':
        await snapshot.del(node, cfg, flags);
        return 0;
      case 'prune':
        await snapshot.prune(node, cfg, flags);
        return 0;
      default:
        process.stderr.write(`Incorrect Usage: unknown etcd-snapshot command ${sub}\n`);
        return 1;
    }
  }
  if (args[0] === 'server') {
    const flags = parseFlags(args.slice(1), BOOLEANS);
    if (flags['cluster-reset'] === true || flags['cluster-reset'] === 'true') {
      await clusterReset(node, cfg, flags);
      return 0;
    }
    process.stderr.write('lab: run the server through `systemctl start rke2-server`\n');
    return 1;
  }
  process.stderr.write(`lab rke2: unsupported command ${args.join(' ')}\n`);
  return 1;
}

function unitName(raw: string | undefined): unit.Unit | null {
  const u = (raw ?? '').replace(/\.service$/, '');
  return u === 'rke2-server' || u === 'rke2-agent' ? u : null;
}

/** Values of `-p A,B`, `--property=A`, `--property A`. */
function properties(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-p' || a === '--property') out.push(...(args[++i] ?? '').split(','));
    else if (a.startsWith('--property=')) out.push(...a.slice('--property='.length).split(','));
    else if (a.startsWith('-p') && a.length > 2) out.push(...a.slice(2).split(','));
  }
  return out.filter(Boolean);
}

async function systemctl(args: string[]): Promise<number> {
  const node = loadNode();
  const quiet = args.includes('--quiet') || args.includes('-q');
  const valueArgs = new Set<number>();
  args.forEach((a, i) => {
    if (a === '-p' || a === '--property') valueArgs.add(i + 1);
  });
  const words = args.filter((a, i) => !a.startsWith('-') && !valueArgs.has(i));
  const [verb, unitRaw] = words;
  if (verb === 'daemon-reload') return 0;
  const u = unitName(unitRaw);
  if (!u) {
    if (verb === 'is-active' || verb === 'is-failed') {
      if (!quiet) process.stdout.write('inactive\n');
      return verb === 'is-active' ? 3 : 1;
    }
    process.stderr.write(`Unit ${unitRaw ?? ''} could not be found.\n`);
    return verb === 'status' ? 4 : 5;
  }
  switch (verb) {
    case 'start':
      return unit.start(node, u, args.includes('--no-block'));
    case 'stop':
      return services.stop(node, u);
    case 'restart': {
      if (services.unitFor(node) === u) await services.stop(node, u);
      return unit.start(node, u, args.includes('--no-block'));
    }
    case 'is-active': {
      const s = unit.currentState(u);
      if (!quiet) process.stdout.write(`${s.active}\n`);
      return unit.isActiveExit(s);
    }
    case 'is-failed': {
      const s = unit.currentState(u);
      if (!quiet) process.stdout.write(`${s.active}\n`);
      return s.active === 'failed' ? 0 : 1;
    }
    case 'status':
      process.stdout.write(unit.statusText(u));
      return unit.isActiveExit(unit.currentState(u));
    case 'show':
      process.stdout.write(unit.showText(u, properties(args), args.includes('--value')));
      return 0;
    case 'reset-failed':
      return unit.resetFailed(u);
    case 'enable':
    case 'disable':
      return 0;
    default:
      process.stderr.write(`lab systemctl: unsupported verb ${verb ?? ''}\n`);
      return 1;
  }
}

/** `journalctl -u <unit> [-n N | --lines=N] [-o cat] [--no-pager] [-x] [-e]`. */
function journalctl(args: string[]): number {
  let u: string | undefined;
  let n: number | null = null;
  let cat = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-u' || a === '--unit') u = args[++i];
    else if (a.startsWith('--unit=')) u = a.slice(7);
    else if (a.startsWith('-u') && a.length > 2) u = a.slice(2);
    else if (a === '-n' || a === '--lines') n = Number(args[++i]);
    else if (a.startsWith('--lines=')) n = Number(a.slice(8));
    else if (/^-n\d+$/.test(a)) n = Number(a.slice(2));
    else if (a === '-e' || a === '--pager-end') n ??= 1000;
    else if (a === '-o' && args[i + 1] === 'cat') {
      cat = true;
      i++;
    } else if (a === '--output=cat' || a === '-ocat') cat = true;
  }
  const name = unitName(u);
  if (!name) {
    process.stdout.write('-- No entries --\n');
    return 0;
  }
  const text = unit.journalTail(name, n);
  if (!text) {
    process.stdout.write('-- No entries --\n');
    return 0;
  }
  process.stdout.write(cat ? text.replace(/^.*?\]: /gm, '') : text);
  return 0;
}

async function main(): Promise<number> {
  const [tool, ...args] = process.argv.slice(2);
  switch (tool) {
    case 'rke2':
      return rke2(args);
    case 'systemctl':
      return systemctl(args);
    case 'journalctl':
      return journalctl(args);
    case 'killall':
      await services.killall(loadNode());
      return 0;
    case 'install':
      install(loadNode());
      return 0;
    case 'unit-run': {
      const u = unitName(args[0]);
      if (!u) return 3;
      return services.unitRun(loadNode(), loadConfigYaml(), u, Number(args[1] ?? 1));
    }
    case 'kubelet-ready':
      await services.kubeletReady(loadNode(), loadConfigYaml());
      return 0;
    case 'cron-snapshot': {
      const at = Number(args[args.indexOf('--at') + 1]);
      await snapshot.scheduled(
        loadNode(),
        loadConfigYaml(),
        Number.isFinite(at) && at > 0 ? at : Math.floor(Date.now() / 1000),
      );
      return 0;
    }
    default:
      process.stderr.write(`lab node: unknown tool ${tool ?? ''}\n`);
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const started = process.uptime();
    if (error instanceof FatalError) {
      process.stderr.write(`FATA[${String(Math.floor(started)).padStart(4, '0')}] ${error.message}\n`);
    } else {
      process.stderr.write(
        `FATA[${String(Math.floor(started)).padStart(4, '0')}] ${(error as Error).stack ?? String(error)}\n`,
      );
    }
    process.exit(1);
  },
);

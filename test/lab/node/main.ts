/**
 * SIMULATION entry point for a lab node: one bundle behind the node's /usr/local/bin/rke2,
 * systemctl, rke2-killall.sh and rke2-install.sh wrappers (see test/lab/README.md).
 */
import { loadNode, loadConfigYaml, FatalError, installedVersion } from './common.js';
import { parseFlags } from './snapshot.js';
import * as snapshot from './snapshot.js';
import { clusterReset } from './reset.js';
import * as services from './services.js';
import { install } from './install.js';

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

async function systemctl(args: string[]): Promise<number> {
  const node = loadNode();
  const cfg = loadConfigYaml();
  const words = args.filter((a) => !a.startsWith('-'));
  const [verb, unitRaw] = words;
  const unit = (unitRaw ?? '').replace(/\.service$/, '');
  if (unit !== 'rke2-server' && unit !== 'rke2-agent') {
    process.stderr.write(
      `Unit ${unitRaw ?? ''} could not be found (lab systemctl knows rke2-server and rke2-agent).\n`,
    );
    return verb === 'is-active' ? 4 : 5;
  }
  switch (verb) {
    case 'start':
      await services.start(node, cfg, unit);
      return 0;
    case 'stop':
      await services.stop(node, cfg, unit);
      return 0;
    case 'restart':
      if (services.unitFor(node) === unit) await services.stop(node, cfg, unit);
      await services.start(node, cfg, unit);
      return 0;
    case 'is-active': {
      const s = services.unitState(unit);
      if (!args.includes('--quiet') && !args.includes('-q')) process.stdout.write(`${s}\n`);
      return s === 'active' ? 0 : 3;
    }
    case 'is-failed': {
      const s = services.unitState(unit);
      process.stdout.write(`${s}\n`);
      return s === 'failed' ? 0 : 1;
    }
    case 'status':
      process.stdout.write(services.status(unit));
      return services.unitState(unit) === 'active' ? 0 : 3;
    case 'enable':
    case 'disable':
    case 'daemon-reload':
      return 0;
    default:
      process.stderr.write(`lab systemctl: unsupported verb ${verb ?? ''}\n`);
      return 1;
  }
}

async function main(): Promise<number> {
  const [tool, ...args] = process.argv.slice(2);
  switch (tool) {
    case 'rke2':
      return rke2(args);
    case 'systemctl':
      return systemctl(args);
    case 'killall':
      await services.killall(loadNode(), loadConfigYaml());
      return 0;
    case 'install':
      install(loadNode());
      return 0;
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

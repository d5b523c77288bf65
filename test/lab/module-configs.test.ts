/**
 * A lab brought up from the module's rendered node configs (module/docs/ARCHITECTURE.md §12):
 * `$RKE2OPS_MODULE_CONFIGS` if set, else rendered now with module/tests/render-config.sh (real
 * tofu from scripts/setup-tools.sh). Skipped, with the reason printed, when neither is available.
 */
import { jest } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createLab, type Lab } from './lab.js';
import { REPO } from './paths.js';
import { kubectlJson, nodeAddress } from './helpers.js';

jest.setTimeout(600_000);

function configDir(): { dir: string | null; why: string; temp: boolean } {
  const given = process.env.RKE2OPS_MODULE_CONFIGS;
  if (given)
    return existsSync(given)
      ? { dir: given, why: '', temp: false }
      : { dir: null, why: `RKE2OPS_MODULE_CONFIGS=${given} does not exist`, temp: false };
  const script = join(REPO, 'module/tests/render-config.sh');
  if (!existsSync(script))
    return { dir: null, why: 'module/tests/render-config.sh does not exist yet', temp: false };
  const out = mkdtempSync(join(tmpdir(), 'lab-module-configs-'));
  try {
    execFileSync(
      'bash',
      [
        script,
        out,
        '--cluster-name',
        'modlab',
        '--masters',
        '3',
        '--workers',
        '2',
        '--subnet',
        '127.0.1.0/24',
        '--no-lb',
      ],
      { stdio: 'pipe' },
    );
    return { dir: out, why: '', temp: true };
  } catch (error) {
    rmSync(out, { recursive: true, force: true });
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? String(error);
    return {
      dir: null,
      why: `render-config.sh failed (tofu built? bash scripts/setup-tools.sh): ${stderr.trim().split('\n').slice(-2).join(' ')}`,
      temp: false,
    };
  }
}

const source = configDir();
if (!source.dir) process.stderr.write(`[lab] SKIP module-configs: ${source.why}\n`);
const maybe = source.dir ? describe : describe.skip;

maybe('lab from module-rendered config.yaml files', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await createLab({
      masters: 0,
      workers: 0,
      name: 'modcfg',
      moduleConfigDir: source.dir!,
      timing: 'fast',
    });
  });
  afterAll(async () => {
    await lab?.destroy();
    if (source.temp) rmSync(source.dir!, { recursive: true, force: true });
  });

  test('nodes carry the module names and its config, with only lab addresses overridden', async () => {
    const index = JSON.parse(readFileSync(join(source.dir!, '_index.json'), 'utf8')) as {
      nodes: { name: string }[];
    };
    expect(lab.state.nodes.map((n) => n.name)).toEqual(index.nodes.map((n) => n.name));
    for (const n of lab.state.nodes) {
      const rendered = parse(readFileSync(join(source.dir!, `${n.name}.yaml`), 'utf8')) as Record<
        string,
        unknown
      >;
      const s = await lab.shell(n.name);
      const onNode = parse((await s.run(['cat', '/etc/rancher/rke2/config.yaml'])).stdout) as Record<
        string,
        unknown
      >;
      expect(onNode['node-ip']).toBe(n.address);
      expect(onNode['token']).toBe(rendered['token']);
      for (const [k, v] of Object.entries(rendered)) {
        if (['node-ip', 'server', 'tls-san', 'advertise-address'].includes(k) || k.startsWith('etcd-s3'))
          continue;
        expect(onNode[k]).toEqual(v);
      }
      if (n.index > 0 || n.role === 'worker')
        expect(onNode['server']).toBe(`https://${lab.state.nodes[0]!.address}:9345`);
    }
  });

  test('the cluster comes up Ready, and the module auth-config gives anonymous /readyz only', async () => {
    const m0 = lab.state.nodes[0]!.name;
    const nodes = await kubectlJson<{
      items: { status: { conditions: { type: string; status: string }[] } }[];
    }>(await lab.shell(m0), ['get', 'nodes']);
    expect(nodes.items).toHaveLength(lab.state.nodes.length);
    expect(
      nodes.items.every((n) => n.status.conditions.find((c) => c.type === 'Ready')?.status === 'True'),
    ).toBe(true);
    if (existsSync(join(source.dir!, '_auth-config.yaml'))) {
      const base = `https://${nodeAddress(lab, m0)}:6443`;
      const get = async (path: string) => {
        const { request } = await import('node:https');
        return new Promise<number>((resolve, reject) => {
          request(`${base}${path}`, { rejectUnauthorized: false }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          })
            .on('error', reject)
            .end();
        });
      };
      expect(await get('/readyz')).toBe(200);
      expect(await get('/api/v1/nodes')).toBe(401);
    }
  });
});

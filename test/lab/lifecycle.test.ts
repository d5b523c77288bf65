/**
 * Start-up and teardown are clean even when things go wrong: a lab whose start fails tears
 * itself down; `down` from another process works from the state dir alone.
 */
import { jest } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createLab, labProcesses } from './lab.js';
import { labDir, registeredLabs, REPO } from './paths.js';

jest.setTimeout(300_000);

test('a failed start-up leaves no process, slot or state behind', async () => {
  // A start timeout of 0 s makes master-0's `systemctl start` fail after etcd was started.
  await expect(
    createLab({ masters: 1, workers: 1, name: 'failing', startTimeoutSec: 0, scenario: 'none' }),
  ).rejects.toThrow(/rke2-server/);
  expect(existsSync(labDir('failing'))).toBe(false);
  expect(registeredLabs().filter((l) => l.dir === labDir('failing'))).toHaveLength(0);
  expect(
    labProcesses(undefined, labDir('failing')).filter((p) => p.node.startsWith('failing-')),
  ).toHaveLength(0);
});

test('`cli.ts down` tears a lab down from its state dir alone', async () => {
  const lab = await createLab({ masters: 1, workers: 1, name: 'downcli', scenario: 'none', timing: 'fast' });
  const { id } = lab.state;
  lab.close();
  expect(labProcesses(id, lab.dir).length).toBeGreaterThan(3);
  execFileSync('npx', ['tsx', 'test/lab/cli.ts', 'down', '--name', 'downcli'], {
    cwd: REPO,
    stdio: 'pipe',
    env: process.env,
  });
  expect(labProcesses(id, lab.dir)).toHaveLength(0);
  expect(existsSync(lab.dir)).toBe(false);
});

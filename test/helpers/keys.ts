/** Real OpenSSH key pairs for tests (ssh-keygen), so key parsing runs on what users have. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestKey {
  privateKey: string;
  privatePath: string;
  publicLine: string;
}

export function makeKey(options: { passphrase?: string; type?: 'ed25519' | 'rsa' } = {}): TestKey {
  const dir = mkdtempSync(join(tmpdir(), 'rke2ops-key-'));
  const privatePath = join(dir, 'id');
  const type = options.type ?? 'ed25519';
  execFileSync('ssh-keygen', [
    '-q',
    '-t',
    type,
    ...(type === 'rsa' ? ['-b', '2048'] : []),
    '-N',
    options.passphrase ?? '',
    '-C',
    '',
    '-f',
    privatePath,
  ]);
  return {
    privateKey: readFileSync(privatePath, 'utf8'),
    privatePath,
    publicLine: readFileSync(`${privatePath}.pub`, 'utf8').trim(),
  };
}

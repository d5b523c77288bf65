import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  parseHostKey,
  fingerprint,
  knownHostsKeys,
  hostKeyAlgorithms,
  matchesPinned,
} from '../../src/ssh/hostkeys.js';

const dir = mkdtempSync(join(tmpdir(), 'rke2ops-hk-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function key(name: string, type: string): string {
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', join(dir, name)]);
  return readFileSync(join(dir, `${name}.pub`), 'utf8').trim();
}

test('fingerprints match ssh-keygen -lf exactly', () => {
  const line = key('fp', 'ed25519');
  const expected = execFileSync('ssh-keygen', ['-lf', join(dir, 'fp.pub')], { encoding: 'utf8' }).split(
    ' ',
  )[1];
  expect(fingerprint(parseHostKey(line).blob)).toBe(expected);
});

test('algorithms offered follow the pinned key types (rsa → rsa-sha2-*)', () => {
  const keys = [parseHostKey(key('r', 'rsa')), parseHostKey(key('e', 'ecdsa'))];
  expect(hostKeyAlgorithms(keys)).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ecdsa-sha2-nistp256']);
  expect(matchesPinned(keys[1]!.blob, keys)).toBe(true);
  expect(matchesPinned(parseHostKey(key('o', 'ed25519')).blob, keys)).toBe(false);
});

test('known_hosts: plain, [host]:port, comma lists and hashed entries', () => {
  const a = key('a', 'ed25519');
  const b = key('b', 'ed25519');
  const c = key('c', 'ed25519');
  const hashedFile = join(dir, 'kh');
  execFileSync('sh', [
    '-c',
    `echo "10.0.0.9 ${c}" > ${hashedFile} && ssh-keygen -H -f ${hashedFile} 2>/dev/null`,
  ]);
  const hashed = readFileSync(hashedFile, 'utf8');
  const text = `# comment\n10.0.0.1,node-1 ${a}\n[10.0.0.2]:2222 ${b}\n${hashed}\n@revoked * ${a}\n`;
  expect(knownHostsKeys(text, 'node-1').map((k) => k.blob.toString('base64'))).toEqual([a.split(' ')[1]]);
  expect(knownHostsKeys(text, '10.0.0.2', 2222)).toHaveLength(1);
  expect(knownHostsKeys(text, '10.0.0.2', 22)).toHaveLength(0);
  expect(knownHostsKeys(text, '10.0.0.9').map((k) => k.blob.toString('base64'))).toEqual([c.split(' ')[1]]);
});

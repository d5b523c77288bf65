/**
 * Key material of a lab, made with the real tools: ssh-keygen (the SSH client key and one
 * ed25519 host key per node sshd) and openssl (a CA, the API serving certificate for every
 * master address, an admin client certificate in system:masters like RKE2's client-admin, and
 * the service-account signing key). Lab-only, lives in the lab dir.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  saKey: string;
  saPub: string;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function sshKeygen(path: string, comment: string): string {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return readFileSync(`${path}.pub`, 'utf8').trim();
}

export function makePki(dir: string, serverIps: string[]): Pki {
  mkdirSync(dir, { recursive: true });
  const p = (f: string) => join(dir, f);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.crt'),
    '-days',
    '30',
    '-subj',
    '/CN=rke2-lab-ca',
  ]);
  const sans = [
    'DNS:localhost',
    'DNS:kubernetes',
    'DNS:kubernetes.default',
    'IP:127.0.0.1',
    'IP:10.43.0.1',
    ...serverIps.map((ip) => `IP:${ip}`),
  ];
  writeFileSync(
    p('server.ext'),
    `subjectAltName=${sans.join(',')}\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n`,
  );
  openssl([
    'req',
    ...ec,
    '-keyout',
    p('serving-kube-apiserver.key'),
    '-out',
    p('server.csr'),
    '-subj',
    '/CN=kube-apiserver',
  ]);
  openssl([
    'x509',
    '-req',
    '-in',
    p('server.csr'),
    '-CA',
    p('ca.crt'),
    '-CAkey',
    p('ca.key'),
    '-CAcreateserial',
    '-days',
    '30',
    '-extfile',
    p('server.ext'),
    '-out',
    p('serving-kube-apiserver.crt'),
  ]);
  writeFileSync(p('client.ext'), 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n');
  openssl([
    'req',
    ...ec,
    '-keyout',
    p('client-admin.key'),
    '-out',
    p('client.csr'),
    '-subj',
    '/O=system:masters/CN=system:admin',
  ]);
  openssl([
    'x509',
    '-req',
    '-in',
    p('client.csr'),
    '-CA',
    p('ca.crt'),
    '-CAkey',
    p('ca.key'),
    '-CAcreateserial',
    '-days',
    '30',
    '-extfile',
    p('client.ext'),
    '-out',
    p('client-admin.crt'),
  ]);
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', p('service.key')]);
  openssl(['ec', '-in', p('service.key'), '-pubout', '-out', p('service.pub')]);
  return {
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    serverCert: p('serving-kube-apiserver.crt'),
    serverKey: p('serving-kube-apiserver.key'),
    adminCert: p('client-admin.crt'),
    adminKey: p('client-admin.key'),
    saKey: p('service.key'),
    saPub: p('service.pub'),
  };
}

/** A kubeconfig like RKE2's rke2.yaml (cluster/user/context "default"), data embedded. */
export function kubeconfig(server: string, pki: Pki): string {
  const b64 = (f: string) => Buffer.from(readFileSync(f)).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- cluster:',
    `    certificate-authority-data: ${b64(pki.caCert)}`,
    `    server: ${server}`,
    '  name: default',
    'contexts:',
    '- context:',
    '    cluster: default',
    '    user: default',
    '  name: default',
    'current-context: default',
    'preferences: {}',
    'users:',
    '- name: default',
    '  user:',
    `    client-certificate-data: ${b64(pki.adminCert)}`,
    `    client-key-data: ${b64(pki.adminKey)}`,
    '',
  ].join('\n');
}

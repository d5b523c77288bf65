import { SecretRegistry, REDACTED } from '../../src/lib/secrets.js';

test('registered secrets are masked at once and redacted from text, longest first', () => {
  const masked: string[] = [];
  const secrets = new SecretRegistry((v) => masked.push(v));
  secrets.add('K10abcdef::server:1234');
  secrets.add('abcdef');
  expect(masked).toEqual(['K10abcdef::server:1234', 'abcdef']);
  expect(secrets.redact('token K10abcdef::server:1234 and abcdef')).toBe(`token ${REDACTED} and ${REDACTED}`);
});

test('multi-line secrets (keys) are redacted line by line too; tiny fragments are ignored', () => {
  const secrets = new SecretRegistry();
  const key =
    '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU\n-----END OPENSSH PRIVATE KEY-----\n';
  secrets.add(key);
  secrets.add('ab');
  secrets.add(undefined);
  expect(secrets.redact('leaked b3BlbnNzaC1rZXktdjEAAAAABG5vbmU here')).toBe(`leaked ${REDACTED} here`);
  expect(secrets.redact('ab stays')).toBe('ab stays');
});

test('redactDeep walks reports', () => {
  const secrets = new SecretRegistry();
  secrets.add('s3cr3t-value');
  expect(secrets.redactDeep({ a: ['x s3cr3t-value'], b: { c: 's3cr3t-value' }, n: 1, z: null })).toEqual({
    a: [`x ${REDACTED}`],
    b: { c: REDACTED },
    n: 1,
    z: null,
  });
});

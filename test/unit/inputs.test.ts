import {
  inputBoolean,
  inputDuration,
  inputInteger,
  inputList,
  inputString,
  inputChoice,
} from '../../src/lib/inputs.js';
import { InputError } from '../../src/lib/errors.js';
import { assertIdentifier, assertAbsolutePath } from '../../src/lib/identifiers.js';

const from = (values: Record<string, string>) => (name: string) => values[name] ?? '';

test('strings are trimmed; required ones name the input', () => {
  expect(inputString(from({ a: '  x ' }), 'a')).toBe('x');
  expect(() => inputString(from({}), 'ssh-key')).toThrow(/^ssh-key: is required/);
  expect(inputString(from({}), 'a', 'dflt')).toBe('dflt');
});

test('booleans follow the YAML 1.2 core schema like @actions/core', () => {
  expect(inputBoolean(from({ b: 'True' }), 'b', false)).toBe(true);
  expect(inputBoolean(from({ b: 'FALSE' }), 'b', true)).toBe(false);
  expect(inputBoolean(from({}), 'b', true)).toBe(true);
  expect(() => inputBoolean(from({ b: 'yes' }), 'b', true)).toThrow(InputError);
});

test('integers and durations refuse junk and out-of-range values instead of defaulting', () => {
  expect(inputInteger(from({ n: '3' }), 'n', 1, { min: 1 })).toBe(3);
  expect(() => inputInteger(from({ n: '3.5' }), 'n', 1)).toThrow(/n: must be a whole number/);
  expect(() => inputInteger(from({ n: '0' }), 'n', 1, { min: 1 })).toThrow(/at least 1/);
  expect(inputDuration(from({ t: '5m' }), 't', 1)).toBe(300);
  expect(inputDuration(from({ t: '90' }), 't', 1)).toBe(90);
  expect(inputDuration(from({ t: '1h' }), 't', 1)).toBe(3600);
  expect(() => inputDuration(from({ timeout: '-5' }), 'timeout', 1)).toThrow(
    /^timeout: must be a positive duration/,
  );
  expect(() => inputDuration(from({ t: '0' }), 't', 1)).toThrow(/greater than zero/);
});

test('lists accept lines and commas, drop blanks and comments', () => {
  expect(inputList(from({ l: 'a, b\n# note\n\nc' }), 'l')).toEqual(['a', 'b', 'c']);
  expect(inputChoice(from({ c: 'x' }), 'c', ['x', 'y'], 'y')).toBe('x');
  expect(() => inputChoice(from({ c: 'z' }), 'c', ['x', 'y'], 'y')).toThrow(/must be one of x, y/);
});

test('identifiers: strict patterns stop metacharacters and traversal', () => {
  expect(assertIdentifier('snapshotName', 's', 'pre-upgrade-20260101T1200Z-m0-1767268800.zip')).toBeTruthy();
  expect(() => assertIdentifier('snapshotName', 'snapshot', '../../etc/passwd')).toThrow(/^snapshot: /);
  expect(() => assertIdentifier('snapshotName', 'snapshot', 'a..b')).toThrow(InputError);
  expect(() => assertIdentifier('labelSelector', 'selector', 'k8s-app=kube-dns;reboot')).toThrow(
    /label selector/,
  );
  expect(
    assertIdentifier('labelSelector', 'selector', 'component=kube-proxy,tier=control-plane'),
  ).toBeTruthy();
  expect(() => assertIdentifier('rke2Version', 'v', 'v1.34.4+rke2r1 ')).toThrow();
  expect(() => assertAbsolutePath('dir', '/var/lib/../x')).toThrow(/not a safe absolute path/);
  expect(() => assertAbsolutePath('dir', 'relative')).toThrow();
});

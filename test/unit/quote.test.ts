import { shellQuote, quoteArgv, sh, bashScript, QuotingError, ShellFragment } from '../../src/lib/quote.js';

test('plain words stay readable, everything else is single-quoted', () => {
  expect(shellQuote('rke2-server')).toBe('rke2-server');
  expect(shellQuote('/var/lib/rancher/rke2')).toBe('/var/lib/rancher/rke2');
  expect(shellQuote('')).toBe("''");
  expect(shellQuote('a b')).toBe("'a b'");
  expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  expect(shellQuote('$(reboot)')).toBe("'$(reboot)'");
  expect(shellQuote('`id`')).toBe("'`id`'");
});

test('NUL and empty commands are refused', () => {
  expect(() => shellQuote('x\0')).toThrow(QuotingError);
  expect(() => quoteArgv([])).toThrow(/at least one word/);
});

test('sh quotes every interpolation; arrays become several words; fragments pass through', () => {
  const name = 'pre-upgrade; rm -rf /';
  expect(sh`rke2 etcd-snapshot save --name ${name}`.text).toBe(
    "rke2 etcd-snapshot save --name 'pre-upgrade; rm -rf /'",
  );
  expect(sh`delete ${['a b', 'c']}`.text).toBe("delete 'a b' c");
  expect(sh`x ${sh`y ${'z z'}`}`.text).toBe("x y 'z z'");
  expect(sh`n=${42}`.text).toBe('n=42');
  expect(() => sh`n=${NaN}`).toThrow(QuotingError);
  expect(sh`a`).toBeInstanceOf(ShellFragment);
});

test('bashScript runs the lines under strict mode as one quoted argument', () => {
  const script = bashScript(['echo one', sh`echo ${"two's"}`]);
  expect(script.startsWith("bash -c 'set -euo pipefail\n")).toBe(true);
  expect(script).toContain('echo one');
});

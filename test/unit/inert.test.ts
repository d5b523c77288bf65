import { inert, inertLines, inertText } from '../../src/lib/inert.js';

describe('inert', () => {
  test('quotes a string and escapes newlines, controls and bidi controls', () => {
    expect(inert('v1.34.4+rke2r1')).toBe('"v1.34.4+rke2r1"');
    expect(inert('/tmp/x\n::error::pwned')).toBe('"/tmp/x\\n::error::pwned"');
    expect(inert('a\u202eb\u2066c\u2069d\u202ae')).toBe('"a\\u202eb\\u2066c\\u2069d\\u202ae"');
    expect(inert('\u001b[2Jbell\u0007 del\u007f c1\u009b')).toBe(
      '"\\u001b[2Jbell\\u0007 del\\u007f c1\\u009b"',
    );
    expect(inert('quote " and \\ backslash')).toBe('"quote \\" and \\\\ backslash"');
    expect(inert('ls\u2028x\ufeff')).toBe('"ls\\u2028x\\ufeff"');
  });

  test('never contains a raw unsafe character or a line break, whatever the input', () => {
    const all = Array.from({ length: 0x3000 }, (_, i) => String.fromCharCode(i)).join('');
    // eslint-disable-next-line no-control-regex
    expect(inert(all, Infinity)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  });

  test('other values as JSON; long values are cut', () => {
    expect(inert(42)).toBe('42');
    expect(inert(['a\u202e'])).toBe('["a\\u202e"]');
    expect(inert('x'.repeat(500))).toBe(`"${'x'.repeat(200)}...(300 more characters)"`);
  });

  test('inertText: unquoted, one line', () => {
    expect(inertText('CrashLoopBackOff\n::warning::x\u202e')).toBe('CrashLoopBackOff\\n::warning::x\\u202e');
  });

  test('inertLines keeps line breaks but no line can be a workflow command', () => {
    const out = inertLines('first\n::error::injected\n  ::set-output name=x::y\nlast\u202e');
    expect(out.split('\n')).toEqual([
      'first',
      '"::error::injected"',
      '"  ::set-output name=x::y"',
      'last\\u202e',
    ]);
  });
});

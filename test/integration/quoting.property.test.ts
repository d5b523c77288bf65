/**
 * Property test: any string (quotes, `$()`, backticks, `;`, newlines, unicode) quoted by the
 * quoting layer reaches the remote program byte for byte through a real sshd and a real
 * login shell - including inside a `bashScript`, i.e. quoted twice.
 */
import fc from 'fast-check';
import { connect } from '../../src/ssh/connection.js';
import { quoteArgv, sh, bashScript, QuotingError, shellQuote } from '../../src/lib/quote.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';
import { targetOf } from '../helpers/ssh-targets.js';
import type { RemoteShell } from '../../src/ssh/types.js';

let sshd: TestSshd;
let shell: RemoteShell;

beforeAll(async () => {
  sshd = await startSshd({ addresses: ['127.0.204.1'] });
  shell = await connect(targetOf(sshd, '127.0.204.1'), { credentials: { privateKey: sshd.clientKey } });
});
afterAll(async () => {
  shell?.close();
  await sshd?.stop();
});

// Characters that break naive quoting, mixed with arbitrary unicode (no lone surrogates:
// they have no UTF-8 form; no NUL: it cannot be in an argv string).
const nasty = fc.constantFrom(
  "'",
  '"',
  '`',
  '$(',
  ')',
  '${',
  '}',
  ';',
  '&&',
  '|',
  '\\',
  '\n',
  '\r',
  '\t',
  ' ',
  '*',
  '?',
  '~',
  '#',
  '!',
  '%',
  '<',
  '>',
  '-n',
  '-e',
  '\u00e9',
  '\u4e2d',
  '\u{1F600}',
  '\u200b',
);
const anyChar = fc
  .string({ unit: 'binary', minLength: 1, maxLength: 1 })
  .filter((c) => c !== '\0' && !/[\uD800-\uDFFF]/.test(c));
const payload = fc.array(fc.oneof(nasty, anyChar), { maxLength: 30 }).map((parts) => parts.join(''));

/** Runs `printf '%s\0' args...` remotely and splits the NUL-separated output. */
async function echoBack(command: string): Promise<string[]> {
  const result = await shell.exec(command);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return result.stdout.split('\0').slice(0, -1);
}

test('quoteArgv: every argument comes back byte for byte', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(payload, { minLength: 1, maxLength: 8 }), async (args) => {
      const back = await echoBack(quoteArgv(['printf', '%s\\0', ...args]));
      expect(Buffer.from(back.join('\0'))).toEqual(Buffer.from(args.join('\0')));
    }),
    { numRuns: 60 },
  );
}, 120_000);

test('sh template inside bashScript (quoted twice) keeps every byte', async () => {
  await fc.assert(
    fc.asyncProperty(payload, payload, async (a, b) => {
      const back = await echoBack(bashScript([sh`printf '%s\\0' ${a} ${[b, a]}`]));
      expect(back).toEqual([a, b, a]);
    }),
    { numRuns: 40 },
  );
}, 120_000);

test('NUL is refused instead of being silently truncated', () => {
  expect(() => shellQuote('a\0b')).toThrow(QuotingError);
});

import { bashScript, sh, type ShellFragment } from '../lib/quote.js';
import type { ExecResult, RemoteShell } from '../ssh/types.js';
import { inertText } from '../lib/inert.js';
import type { SecretRegistry } from '../lib/secrets.js';

/**
 * Several node commands in ONE SSH exec (an exec costs ~190 ms on an open connection): each
 * step runs in its own strict subshell with stdout and stderr captured, and the script prints
 * one JSON document with every step's exit code and base64-encoded output (stock RKE2 nodes have
 * no jq, so nothing is parsed on the node). A failing step is data, not the end of the batch,
 * unless it is marked `stopOnFailure` (the later steps are then reported as not run).
 * `concurrent` runs every step as a background job (independent reads, e.g. kubectl calls).
 */
export interface Step {
  key: string;
  command: ShellFragment;
  /** Skip the remaining steps when this one exits non-zero. */
  stopOnFailure?: boolean;
  /**
   * (sequential batches) Start this step in the background: consecutive `parallel` steps run
   * together, and the batch waits for them before the next ordinary step or the end. For
   * independent reads after a write (ls, digest, counts after a save). Not with stopOnFailure.
   */
  parallel?: boolean;
}

export interface StepResult {
  key: string;
  /** False when an earlier `stopOnFailure` step failed. */
  ran: boolean;
  code: number;
  stdout: string;
  stderr: string;
}

export type BatchResult = Record<string, StepResult>;

const KEY = /^[a-z][a-z0-9_]{0,40}$/;

export function batchScript(steps: readonly Step[], opts: { concurrent?: boolean } = {}): string {
  if (steps.length === 0) throw new Error('a batch needs at least one step');
  for (const s of steps) if (!KEY.test(s.key)) throw new Error(`invalid step key ${JSON.stringify(s.key)}`);
  const lines: (string | ShellFragment)[] = [
    'd=$(mktemp -d); trap \'rm -rf "$d"\' EXIT',
    // One part of the JSON answer: "key":{"ran":..,"code":..,"out":"<b64>","err":"<b64>"}
    'emit() { local out= err=; [ -s "$d/$1.out" ] && out=$(base64 -w0 <"$d/$1.out"); ' +
      '[ -s "$d/$1.err" ] && err=$(base64 -w0 <"$d/$1.err"); ' +
      'printf \'"%s":{"ran":%s,"code":%s,"out":"%s","err":"%s"}\' "$1" "$2" "$3" "$out" "$err"; }',
  ];
  if (opts.concurrent) {
    steps.forEach((s, i) =>
      lines.push(
        sh`( set -euo pipefail; ${s.command} ) >"$d/"${s.key}.out 2>"$d/"${s.key}.err & p${String(i)}=$!`,
      ),
    );
    steps.forEach((_s, i) => lines.push(sh`r${String(i)}=0; wait "$p${String(i)}" || r${String(i)}=$?`));
  } else {
    lines.push('stop=0');
    let pending: number[] = [];
    const join = () => {
      for (const j of pending)
        lines.push(sh`if [ "$g${String(j)}" = true ]; then wait "$p${String(j)}" || r${String(j)}=$?; fi`);
      pending = [];
    };
    steps.forEach((s, i) => {
      if (s.parallel) {
        if (s.stopOnFailure) throw new Error(`step ${s.key}: parallel and stopOnFailure do not mix`);
        lines.push(
          sh`r${String(i)}=0; g${String(i)}=false; if [ "$stop" = 0 ]; then g${String(i)}=true; ( set -euo pipefail; ${s.command} ) >"$d/"${s.key}.out 2>"$d/"${s.key}.err & p${String(i)}=$!; fi`,
        );
        pending.push(i);
        return;
      }
      join();
      lines.push(
        sh`r${String(i)}=0; g${String(i)}=false; if [ "$stop" = 0 ]; then g${String(i)}=true; ( set -euo pipefail; ${s.command} ) >"$d/"${s.key}.out 2>"$d/"${s.key}.err || r${String(i)}=$?; fi`,
      );
      if (s.stopOnFailure) lines.push(sh`[ "$r${String(i)}" = 0 ] || stop=1`);
    });
    join();
  }
  lines.push("printf '{'");
  steps.forEach((s, i) => {
    const ran = opts.concurrent ? 'true' : `"$g${i}"`;
    lines.push(`${i === 0 ? '' : 'printf ,; '}emit ${s.key} ${ran} "$r${i}"`);
  });
  lines.push("printf '}\\n'");
  return bashScript(lines);
}

export class BatchError extends Error {
  override name = 'BatchError';
}

/** Decodes the batch's JSON answer; a missing or garbled answer is a BatchError with the node's stderr. */
export function parseBatch(
  steps: readonly Step[],
  result: ExecResult,
  secrets?: SecretRegistry,
): BatchResult {
  const clean = (b64: string) => {
    const text = Buffer.from(b64, 'base64').toString('utf8');
    return secrets ? secrets.redact(text) : text;
  };
  const where = result.host;
  if (result.timedOut)
    throw new BatchError(`${where}: the command timed out after ${Math.round(result.durationMs / 1000)} s`);
  const line = result.stdout.trim().split('\n').pop() ?? '';
  let raw: Record<string, { ran: boolean; code: number; out: string; err: string }>;
  try {
    raw = JSON.parse(line) as typeof raw;
  } catch {
    throw new BatchError(
      `${where}: no answer from the node (exit ${result.code ?? result.signal}): ${inertText(result.stderr.trim() || result.stdout.trim() || 'no output', 500)}`,
    );
  }
  const out: BatchResult = {};
  for (const s of steps) {
    const r = raw[s.key];
    if (!r) throw new BatchError(`${where}: the answer has no part ${s.key}`);
    out[s.key] = {
      key: s.key,
      ran: r.ran,
      code: r.code,
      // The transport redacts what it captures, but not inside base64: redact the decoded text.
      stdout: clean(r.out),
      stderr: clean(r.err),
    };
  }
  return out;
}

export interface BatchOptions {
  concurrent?: boolean;
  timeoutMs?: number;
  /** Redacts every decoded step output (registered secrets never reach a report). */
  secrets?: SecretRegistry;
}

/** Runs the steps on a node in one exec. */
export async function runBatch(
  shell: RemoteShell,
  steps: readonly Step[],
  opts: BatchOptions = {},
): Promise<BatchResult> {
  const script = batchScript(steps, opts);
  const r = await shell.exec(script, opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {});
  return parseBatch(steps, r, opts.secrets);
}

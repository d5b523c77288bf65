/**
 * Where labs live. State of one lab: `<root>/<name>/` with root `$RKE2OPS_LAB_DIR` or `.lab/` in
 * the repository (gitignored). A machine-wide registry under /run (tmpfs: gone after a reboot,
 * like the processes it tracks) allocates each lab a loopback /24 (`127.0.<slot>.0`) and lets
 * `down --all` find every lab, whichever checkout started it.
 */
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const REGISTRY = process.env.RKE2OPS_LAB_REGISTRY ?? '/run/rke2ops-lab';

export function labRoot(): string {
  return process.env.RKE2OPS_LAB_DIR ? resolve(process.env.RKE2OPS_LAB_DIR) : join(REPO, '.lab');
}

export function labDir(name: string): string {
  return join(labRoot(), name);
}

const FIRST_SLOT = 20;
// 127.0.200.x is used by test/integration (its own sshd): stay below.
const LAST_SLOT = 199;

/** Atomically claims a free slot (mkdir is the lock). */
export function claimSlot(dir: string): number {
  mkdirSync(join(REGISTRY, 'slots'), { recursive: true });
  for (let slot = FIRST_SLOT; slot <= LAST_SLOT; slot++) {
    try {
      mkdirSync(join(REGISTRY, 'slots', String(slot)));
    } catch {
      continue;
    }
    writeFileSync(join(REGISTRY, 'slots', String(slot), 'dir'), dir);
    return slot;
  }
  throw new Error(`no free lab slot in ${REGISTRY}/slots (run "down --all")`);
}

export function releaseSlot(slot: number): void {
  rmSync(join(REGISTRY, 'slots', String(slot)), { recursive: true, force: true });
}

export function registeredLabs(): { slot: number; dir: string }[] {
  let entries: string[];
  try {
    entries = readdirSync(join(REGISTRY, 'slots'));
  } catch {
    return [];
  }
  return entries.map((s) => {
    let dir = '';
    try {
      dir = readFileSync(join(REGISTRY, 'slots', s, 'dir'), 'utf8');
    } catch {
      // a half-claimed slot
    }
    return { slot: Number(s), dir };
  });
}

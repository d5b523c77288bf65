import type { Change, ChangeAction, PlanJson, ResourceChange } from './plan-json.js';
import { stackFindings, type Rke2Upgrade, type StackWarning } from './stack.js';
import { resourceChangesHash } from './hash.js';

/**
 * What a plan does, for people and for the next workflow step. Counts follow tofu's own
 * "Plan: N to add, N to change, N to destroy" line (a replacement counts as one add and one
 * destroy there); `replace` says how many of those are replacements.
 */
export interface PlanCounts {
  add: number;
  change: number;
  destroy: number;
  replace: number;
  import: number;
  move: number;
  forget: number;
}

export type ResourceAction = 'create' | 'update' | 'delete' | 'replace' | 'read' | 'forget' | 'no-op';

export interface ResourceLine {
  address: string;
  action: ResourceAction;
  /** Why tofu replaces it (attribute paths), when it says so. */
  replaceReasons: string[];
  previousAddress?: string;
  importing: boolean;
}

export interface PlanSummary {
  counts: PlanCounts;
  /** Any resource or output change (tofu's detailed exit code 2). */
  changes: boolean;
  resourceChanges: boolean;
  /** Something is destroyed or replaced. */
  destructive: boolean;
  resources: ResourceLine[];
  outputChanges: string[];
  rke2Upgrade: Rke2Upgrade | null;
  warnings: StackWarning[];
  resourceChangesHash: string;
  applyable: boolean;
  errored: boolean;
}

export function resourceAction(change: Pick<Change, 'actions'>): ResourceAction {
  const a = change.actions;
  if (a.length === 2 && a.includes('delete') && a.includes('create')) return 'replace';
  const one = a[0] as ChangeAction | undefined;
  switch (one) {
    case 'create':
    case 'update':
    case 'delete':
    case 'read':
    case 'forget':
      return one;
    default:
      return 'no-op';
  }
}

function isMove(rc: ResourceChange): boolean {
  return !!rc.previous_address && rc.previous_address !== rc.address;
}

export function countChanges(plan: PlanJson): PlanCounts {
  const counts: PlanCounts = { add: 0, change: 0, destroy: 0, replace: 0, import: 0, move: 0, forget: 0 };
  for (const rc of plan.resource_changes ?? []) {
    if (rc.mode !== 'managed') continue;
    switch (resourceAction(rc.change)) {
      case 'create':
        counts.add++;
        break;
      case 'update':
        counts.change++;
        break;
      case 'delete':
        counts.destroy++;
        break;
      case 'replace':
        counts.add++;
        counts.destroy++;
        counts.replace++;
        break;
      case 'forget':
        counts.forget++;
        break;
      default:
        break;
    }
    if (rc.change.importing) counts.import++;
    if (isMove(rc)) counts.move++;
  }
  return counts;
}

function pathText(path: readonly unknown[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
}

export function summarisePlan(plan: PlanJson): PlanSummary {
  const counts = countChanges(plan);
  const resources: ResourceLine[] = [];
  for (const rc of plan.resource_changes ?? []) {
    const action = resourceAction(rc.change);
    const moved = isMove(rc);
    if (action === 'no-op' && !moved && !rc.change.importing) continue;
    if (rc.mode === 'data' && action === 'read') continue; // reads are not changes to review
    resources.push({
      address: rc.deposed ? `${rc.address} (deposed ${rc.deposed})` : rc.address,
      action,
      replaceReasons: (rc.change.replace_paths ?? []).map((p) => pathText(p)),
      ...(moved ? { previousAddress: rc.previous_address } : {}),
      importing: !!rc.change.importing,
    });
  }
  const outputChanges = Object.entries(plan.output_changes ?? {})
    .filter(([, c]) => resourceAction(c) !== 'no-op')
    .map(([name]) => name)
    .sort();
  const resourceChanges = resources.length > 0;
  const { rke2Upgrade, warnings } = stackFindings(plan);
  return {
    counts,
    changes: resourceChanges || outputChanges.length > 0,
    resourceChanges,
    destructive: counts.destroy > 0,
    resources,
    outputChanges,
    rke2Upgrade,
    warnings,
    resourceChangesHash: resourceChangesHash(plan),
    applyable: plan.applyable ?? true,
    errored: plan.errored ?? false,
  };
}

/** tofu's own wording, for logs and headlines. */
export function countsLine(c: PlanCounts): string {
  const extra = [
    c.replace ? `${c.replace} to replace` : '',
    c.import ? `${c.import} to import` : '',
    c.move ? `${c.move} to move` : '',
    c.forget ? `${c.forget} to forget` : '',
  ].filter(Boolean);
  return `${c.add} to add, ${c.change} to change, ${c.destroy} to destroy${extra.length ? ` (${extra.join(', ')})` : ''}`;
}

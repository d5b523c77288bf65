import { readFile } from 'node:fs/promises';
import { inventorySchema, type Inventory } from './schema.js';
import { InputError } from '../lib/errors.js';
import { inert, inertText } from '../lib/inert.js';

export class InventoryError extends InputError {
  override name = 'InventoryError';
}

export interface LoadedInventory {
  inventory: Inventory;
  /** Problems that do not stop the toolkit but an operator should see. */
  warnings: string[];
}

const SECRET_KEY = /(secret|password|passwd|token|private[_-]?key|access[_-]?key|credential)/i;
const SECRET_VALUE = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/**
 * Parses and validates an inventory from JSON text. Accepts the document itself, a single
 * `tofu output -json ops_inventory` value wrapper (`{"sensitive":..,"type":..,"value":{..}}`)
 * and the whole `tofu output -json` map that contains `ops_inventory`.
 */
export function parseInventory(text: string, source = 'inventory'): LoadedInventory {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new InventoryError(source, `is not valid JSON (${inertText((error as Error).message)})`);
  }
  return validateInventory(unwrapTofuOutput(raw), source);
}

/**
 * Reads an inventory file. Errors name the input (`inventory-file`, or the CLI's flag) and the
 * file, quoted inert: a path is user input too.
 */
export async function loadInventoryFile(path: string, input = 'inventory-file'): Promise<LoadedInventory> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InventoryError(
      input,
      `${inert(path)} cannot be read (${(error as NodeJS.ErrnoException).code ?? inertText((error as Error).message)})`,
    );
  }
  try {
    return parseInventory(text, input);
  } catch (error) {
    if (error instanceof InventoryError) error.message += ` (in ${inert(path)})`;
    throw error;
  }
}

export function unwrapTofuOutput(raw: unknown): unknown {
  if (!isObject(raw)) return raw;
  if (isObject(raw.ops_inventory)) return unwrapTofuOutput(raw.ops_inventory);
  if ('value' in raw && ('type' in raw || 'sensitive' in raw)) {
    if (raw.sensitive === true) {
      throw new InventoryError(
        'ops_inventory',
        'is marked sensitive in tofu output: the inventory must hold no secrets',
      );
    }
    return raw.value;
  }
  return raw;
}

export function validateInventory(raw: unknown, source = 'inventory'): LoadedInventory {
  rejectSecrets(raw, source);
  const result = inventorySchema.safeParse(raw);
  if (!result.success) {
    const messages = result.error.issues.map((issue) => {
      const field = formatPath(source, issue.path);
      const message =
        issue.code === 'unrecognized_keys'
          ? `unknown key(s) ${issue.keys.map((k) => inert(k)).join(', ')}`
          : issue.message;
      return `${field}: ${message}`;
    });
    const first = result.error.issues[0]!;
    if (messages.length === 1)
      throw new InventoryError(
        formatPath(source, first.path),
        messages[0]!.slice(formatPath(source, first.path).length + 2),
      );
    throw new InventoryError(source, `invalid inventory:\n  - ${messages.join('\n  - ')}`);
  }
  const inventory = result.data;
  checkUnique(inventory, source);
  const warnings: string[] = [];
  if (inventory.masters.length % 2 === 0) {
    warnings.push(
      `${inventory.masters.length} masters: etcd needs an odd number to keep quorum through a failure`,
    );
  }
  return { inventory, warnings };
}

function checkUnique(inv: Inventory, source: string): void {
  const nodes = [
    ...inv.masters.map((n, i) => ({ n, path: `masters[${i}]` })),
    ...inv.workers.map((n, i) => ({ n, path: `workers[${i}]` })),
  ];
  const seenNames = new Map<string, string>();
  const seenAddresses = new Map<string, string>();
  for (const { n, path } of nodes) {
    const dupName = seenNames.get(n.name);
    if (dupName)
      throw new InventoryError(`${source}.${path}.name`, `${inert(n.name)} is already used by ${dupName}`);
    seenNames.set(n.name, path);
    const dupAddress = seenAddresses.get(n.address);
    if (dupAddress)
      throw new InventoryError(`${source}.${path}.address`, `${n.address} is already used by ${dupAddress}`);
    seenAddresses.set(n.address, path);
  }
}

function rejectSecrets(value: unknown, path: string): void {
  if (typeof value === 'string' && SECRET_VALUE.test(value)) {
    throw new InventoryError(
      path,
      'holds a private key: secrets do not belong in the inventory (pass them as inputs)',
    );
  }
  if (Array.isArray(value)) value.forEach((v, i) => rejectSecrets(v, `${path}[${i}]`));
  else if (isObject(value)) {
    for (const [key, v] of Object.entries(value)) {
      if (SECRET_KEY.test(key) && v !== null && v !== '') {
        throw new InventoryError(
          `${path}.${key}`,
          'looks like a secret: secrets do not belong in the inventory (pass them as inputs or environment)',
        );
      }
      rejectSecrets(v, `${path}.${key}`);
    }
  }
}

function formatPath(source: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : `${acc}.${String(part)}`),
    source,
  );
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

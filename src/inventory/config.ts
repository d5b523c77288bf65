import { InputError } from '../lib/errors.js';
import { inputOptional, type InputSource } from '../lib/inputs.js';

export interface InventoryConfig {
  /** Inventory JSON text (the document, or `tofu output -json` of it). */
  inventory?: string;
  /** Path of a file holding the same. */
  inventoryFile?: string;
}

export function readInventoryConfig(get: InputSource): InventoryConfig {
  const inventory = inputOptional(get, 'inventory');
  const inventoryFile = inputOptional(get, 'inventory-file');
  if (!inventory && !inventoryFile)
    throw new InputError('inventory', 'give `inventory` (JSON) or `inventory-file`');
  if (inventory && inventoryFile)
    throw new InputError('inventory', 'give either `inventory` or `inventory-file`, not both');
  return { inventory, inventoryFile };
}

/** Turns anything thrown into a readable message (a non-Error throw must not be swallowed). */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}

/** Bad input from the user: detected before anything touches a node. */
export class InputError extends Error {
  override name = 'InputError';
  constructor(
    /** The input or field that is wrong, e.g. `timeout` or `inventory.masters[0].address`. */
    readonly field: string,
    /** What is wrong with it, user values quoted with `inert()`. */
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

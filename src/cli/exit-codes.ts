/** Exit codes of every rke2-ops command (README "Use", each command's help). */
export const ExitCode = {
  /** Done; for `health`, the cluster is healthy. */
  ok: 0,
  /** A failed verdict or operation (not healthy, a step failed). */
  failed: 1,
  /** Bad input or usage: nothing was contacted. */
  badInput: 2,
} as const;

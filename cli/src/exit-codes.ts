/**
 * The CLI's exit statuses, distinct for each way a run ends (listed in `titan --help` and the
 * README). A script around the CLI can tell a failed run from a mistyped one and from a cancelled one.
 */
export const EXIT = {
  /** The run did what was asked (deployed and confirmed, healthy, rolled back, backed up, provisioned). */
  ok: 0,
  /** The run failed: a deploy that failed (and was rolled back, or left as its summary says), a stack that is not healthy, any error on the host or a peer. */
  failed: 1,
  /** Bad input: an unknown command or flag, a missing or invalid input, a secret on the command line. Nothing was sent to a host. */
  badInput: 2,
  /** Cancelled by SIGINT or SIGTERM: the run stopped at its next safe point (lock released, journal written) or, for a command with no host state to leave safe, at once. */
  cancelled: 130,
} as const;

export type ExitStatus = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODE_HELP = [
  `  ${EXIT.ok}    success: the run did what was asked`,
  `  ${EXIT.failed}    failed: the deploy failed (rolled back, or as the summary says), the stack is not healthy, or the host or a peer refused`,
  `  ${EXIT.badInput}    bad input: unknown command or flag, a missing or invalid input, a secret on the command line; nothing was sent`,
  `  ${EXIT.cancelled}  cancelled (SIGINT/SIGTERM): stopped at the next safe point, lock released, journal written`,
].join('\n');

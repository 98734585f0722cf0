/**
 * The exit statuses of the scripts the runner runs on the host (and in the containers it starts
 * there), in one place: a script writes `exit ${EXIT_...}` and the runner that reads
 * `CommandFailedError.exitCode` (or passes `acceptExitCodes`) compares with the same name. 0 is
 * success and 1 a failure whose stderr says why; every other status means one thing a runner acts
 * on. Where one fits, the value is the sysexits.h one; a signal's is 128 + its number, as sh does.
 */

/** The script failed; its stderr says why. */
export const EXIT_FAILED = 1;

/** Release install or re-verify: the release did not verify on the host (an install leaves nothing behind). */
export const EXIT_NOT_VERIFIED = 3;
/** Migrations: the project has no running database container (stopped stack, taken down, rebooted host). */
export const EXIT_NO_DATABASE = 3;
/** Verify: no release is current on the host (no current/manifest.json). */
export const EXIT_NO_CURRENT_RELEASE = 3;
/** Lifting a halt: a newer halt mark stands, printed on stdout (an answer, not a failure). */
export const EXIT_HALT_STANDS = 3;
/** Provision: the application folder cannot be entered. */
export const EXIT_NO_APP_DIR = 3;
/** Orderly stop: services of a group are still running after their stop timeout (named on stdout). */
export const EXIT_STILL_RUNNING = 4;

/** EX_USAGE: the script was called wrongly. */
export const EXIT_USAGE = 64;
/** EX_DATAERR: the input is damaged (a backup part that does not restore). */
export const EXIT_DATA_ERROR = 65;
/** EX_NOINPUT: an input file is missing or empty. */
export const EXIT_NO_INPUT = 66;
/** EX_UNAVAILABLE: a service answered something unusable. */
export const EXIT_UNAVAILABLE = 69;
/** EX_SOFTWARE: a tool inside the script failed. */
export const EXIT_SOFTWARE = 70;
/** EX_IOERR: reading or writing a file failed. */
export const EXIT_IO_ERROR = 74;
/** EX_TEMPFAIL: try again later (a snapshot is still being written). */
export const EXIT_TEMPORARY = 75;
/** The deploy lock is held by another session (EX_TEMPFAIL: another run may take it later). */
export const EXIT_LOCK_BUSY = 75;

/** Ended by SIGHUP (the SSH session went away). */
export const EXIT_HANGUP = 129;
/** Ended by SIGINT. */
export const EXIT_INTERRUPTED = 130;
/** Ended by SIGTERM (a cancel). */
export const EXIT_TERMINATED = 143;

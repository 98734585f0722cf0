/**
 * The files below state/ (HostLayout.stateDir): the one place their names are spelled. HostLayout
 * makes the runner's paths from them, and packages/host/generate-scripts.mjs writes them into
 * scripts/lib/state-names.sh, which the host scripts source (`--check` fails when it is stale).
 * Plain data only: the generator reads the two objects below line by line (`key: 'value',`).
 */

/** The files right below state/ (in the scripts: `$state_<key in snake case>`, a path). */
export const STATE_FILES = {
  /** The TITAN_MODE the stack was last started with. */
  mode: 'mode',
  /** An operator's halt mark (JSON). */
  halted: 'halted',
  /** What the last verified start left running (stack-record.ts). */
  stackStarted: 'stack-started',
  /** What the deploy lock's sessions did. */
  lockLog: 'lock.log',
  /** The inputs of the last compose model searched clean of secrets (scripts/secret-exposure.sh). */
  composeModelSearched: 'compose-model-searched',
} as const;

/**
 * How the files of one release or one lock session below state/ are named (in the scripts:
 * `$<key in snake case>`): <id>.confirmed, <id>.bad, guard-<id>.json|.plan|.log, work-<token>-<kind>.
 */
export const STATE_AFFIXES = {
  confirmedSuffix: '.confirmed',
  badSuffix: '.bad',
  guardPrefix: 'guard-',
  workPrefix: 'work-',
} as const;

export type StateFileName = (typeof STATE_FILES)[keyof typeof STATE_FILES];

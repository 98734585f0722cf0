/**
 * Where things live on a Titan host, below the application folder (`/opt/titan` on a Droplet):
 *
 *   releases/<id>/                 verified releases, immutable (nothing is ever written inside)
 *   releases/.<id>.partial-<rand>/ an upload that is not verified yet
 *   current -> releases/<id>       the running release (a relative symbolic link, flipped atomically)
 *   shared/.env.prod               production values (0600, the host's own, never read by a deploy)
 *   trust/*.pem                    release public keys the host verifies bundles with
 *   state/<id>.confirmed           the release passed verification after its switch (JSON)
 *   state/<id>.bad                 the release failed and must never be a rollback target (JSON)
 *   state/guard-<id>.json          a commit-confirmed guard waiting for <id> to be confirmed
 *   state/guard-<id>.log           what that guard did
 *   state/mode                     the TITAN_MODE the stack was last started with
 *   state/stack-started            what the last verified start left running (stack-record.ts)
 *   state/compose-model-searched   the inputs of the last compose model searched clean of secrets
 *                                  (one sha256: scripts/secret-exposure.sh)
 *   journal.jsonl                  one JSON line per deploy that changed the host
 *   .deploy.lock                   the flock(1) file of the deploy lock
 *   .deploy.lock.holder            who holds the lock (JSON), while they hold it
 *
 * State lives beside the releases, not inside them, so a release folder keeps verifying against its
 * manifest for as long as it exists. The names below state/ are spelled in state-layout.ts.
 */

import { STATE_AFFIXES, type StateFileName } from './state-layout.js';

/** Absolute, a safe charset (a path and a shell word needing no quotes), no `.`/`..` segments. */
export const APP_DIR_PATTERN = /^\/[A-Za-z0-9._/-]+$/;

/** A Compose project name, as Compose itself accepts it. */
export const PROJECT_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;

/** Why `appDir` cannot be an application folder, or undefined when it can. */
export function appDirProblem(appDir: string): string | undefined {
  if (!APP_DIR_PATTERN.test(appDir)) {
    return 'it must be an absolute path made of letters, digits, ".", "_", "-" and "/" only (for example /opt/titan)';
  }
  const segments = appDir.split('/').slice(1);
  if (segments.some((s) => s === '.' || s === '..')) return 'it must not contain "." or ".." segments';
  if (segments.some((s) => s === '') && appDir !== '/') return 'it must not contain empty segments or end with "/"';
  if (appDir === '/') return 'it must not be the root folder';
  return undefined;
}

/** Why `project` cannot be a Compose project name, or undefined when it can. */
export function projectProblem(project: string): string | undefined {
  if (!PROJECT_PATTERN.test(project)) {
    return 'it must start with a lower-case letter or digit and hold only lower-case letters, digits, "_" and "-" (for example titan)';
  }
  if (project.length > 63) return 'it must be at most 63 characters';
  return undefined;
}

/**
 * The names below the application folder: the one place they are spelled. The runner's paths
 * (HostLayout) and the host scripts' (the TITAN_* variables every host script runs with:
 * HostLayout.environment(), see host-script.ts) are both made from them.
 */
export const HOST_NAMES = {
  releases: 'releases',
  current: 'current',
  shared: 'shared',
  envFile: '.env.prod',
  trust: 'trust',
  state: 'state',
  journal: 'journal.jsonl',
  lock: '.deploy.lock',
  lockHolder: '.deploy.lock.holder',
} as const;

export class HostLayout {
  readonly releasesDir: string;
  /** The `current` link. */
  readonly current: string;
  readonly sharedDir: string;
  readonly envFile: string;
  readonly trustDir: string;
  readonly stateDir: string;
  readonly journal: string;
  /** The flock(1) file of the deploy lock, and who holds it. */
  readonly lockFile: string;
  readonly lockHolderFile: string;

  readonly appDir: string;
  constructor(appDir: string) {
    this.appDir = appDir;
    const problem = appDirProblem(appDir);
    if (problem !== undefined) throw new Error(`The application folder ${JSON.stringify(appDir)} is not usable: ${problem}.`);
    const below = (name: keyof typeof HOST_NAMES): string => `${appDir}/${HOST_NAMES[name]}`;
    this.releasesDir = below('releases');
    this.current = below('current');
    this.sharedDir = below('shared');
    this.envFile = `${this.sharedDir}/${HOST_NAMES.envFile}`;
    this.trustDir = below('trust');
    this.stateDir = below('state');
    this.journal = below('journal');
    this.lockFile = below('lock');
    this.lockHolderFile = below('lockHolder');
  }

  releaseDir(releaseId: string): string {
    return `${this.releasesDir}/${releaseId}`;
  }

  /** What `current` holds when it points at a release (relative, so the folder can move). */
  currentTarget(releaseId: string): string {
    return `${HOST_NAMES.releases}/${releaseId}`;
  }

  /** state/<id>.confirmed: the release passed verification after its switch. */
  confirmedMark(releaseId: string): string {
    return `${this.stateDir}/${releaseId}${STATE_AFFIXES.confirmedSuffix}`;
  }

  /** state/<id>.bad: the release failed and must never be a rollback target. */
  badMark(releaseId: string): string {
    return `${this.stateDir}/${releaseId}${STATE_AFFIXES.badSuffix}`;
  }

  /** state/guard-<id>.json, .plan and .log: the guard of a release, its return plan, what it did. */
  guardFile(releaseId: string, kind: 'json' | 'plan' | 'log'): string {
    return `${this.stateDir}/${STATE_AFFIXES.guardPrefix}${releaseId}.${kind}`;
  }

  /** state/mode, state/halted, state/stack-started, state/lock.log, … (STATE_FILES). */
  stateFile(name: StateFileName): string {
    return `${this.stateDir}/${name}`;
  }

  /** The variables every host script runs with: where things are on this host. */
  environment(): Record<string, string> {
    const below: [string, string][] = Object.entries(SCRIPT_PATHS).map(([variable, name]) => [variable, `${this.appDir}/${HOST_NAMES[name]}`]);
    return { TITAN_APP_DIR: this.appDir, TITAN_RELEASES_LINK: HOST_NAMES.releases, TITAN_ENV_FILE: this.envFile, ...Object.fromEntries(below) };
  }
}

/** The host scripts' variable for each folder or file right below the application folder. */
const SCRIPT_PATHS = {
  TITAN_RELEASES: 'releases',
  TITAN_CURRENT: 'current',
  TITAN_SHARED: 'shared',
  TITAN_TRUST: 'trust',
  TITAN_STATE: 'state',
  TITAN_JOURNAL: 'journal',
  TITAN_LOCK: 'lock',
  TITAN_LOCK_HOLDER: 'lockHolder',
} as const satisfies Record<string, keyof typeof HOST_NAMES>;

/** state/work-<token>-<kind>: in-container work of a lock session, while it runs (see scripts/lib/end-work.sh). */
export function workRecord(stateDir: string, token: string, kind: string): string {
  return `${stateDir}/${STATE_AFFIXES.workPrefix}${token}-${kind}`;
}

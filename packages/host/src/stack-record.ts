/**
 * state/stack-started: what the last successful start of the stack left running, so that a deploy
 * can tell when `docker compose up` would have nothing to do and skip it (and its Compose start-up).
 * Written once a release verified (scripts/write-stack-record.sh, read by scripts/read-stack-record.sh): the release, the mode, a sha256 over every file under shared/
 * (the production values and any secret files) and the id and service of every container of the
 * project. Read back beside the project's containers as they are now; the digest is compared ON THE
 * HOST (`shared same|changed|no-record`), so nothing derived from the production values leaves it.
 * Compose would change nothing when the definitions, images and mounted files are those of the
 * release that was started (the change plan), the mode and shared/ are the same, and the very same
 * containers are there and running: any recreation (a rollback, a guard's return, a restore, an
 * operator's `up`) gives new ids, a stop leaves one not running, an edit of shared/ changes its digest.
 */
import type { SshConnection } from '@titan/ssh/connection';
import type { TitanMode } from './compose-command.js';
import { PROJECT_PATTERN, type HostLayout } from './host-layout.js';
import { hostRecords } from './host-record.js';
import { runHostScript } from './host-script.js';

export interface StackContainer {
  readonly id: string;
  readonly service: string;
  /** docker ps's State: running, exited, created, restarting, paused, dead. */
  readonly state: string;
}

export interface StackRecord {
  readonly release: string;
  readonly mode: string;
  readonly containers: readonly { readonly id: string; readonly service: string }[];
}

export interface StackNow {
  /** The project's containers now. */
  readonly containers: readonly StackContainer[];
  /** The last successful start, when one was recorded. */
  readonly record: StackRecord | undefined;
  /** shared/ against the record's digest: unchanged, changed, or nothing to compare with. */
  readonly shared: 'same' | 'changed' | 'no-record';
}

export async function readStackNow(connection: SshConnection, layout: HostLayout, project: string): Promise<StackNow> {
  checkProject(project);
  const { stdout } = await runHostScript(connection, layout, 'titan-read-stack-record', [project], { timeoutMs: 60_000 });
  return parseStackNow(stdout);
}

/** Records what runs now as the last successful start of `release` in `mode`. */
export async function writeStackRecord(connection: SshConnection, layout: HostLayout, project: string, release: string, mode: TitanMode): Promise<void> {
  checkProject(project);
  await runHostScript(connection, layout, 'titan-write-stack-record', [project, release, mode], { timeoutMs: 60_000 });
}

export function parseStackNow(stdout: string): StackNow {
  const containers: StackContainer[] = [];
  const recorded: { id: string; service: string }[] = [];
  let release: string | undefined;
  let mode = '';
  let shared: StackNow['shared'] = 'no-record';
  for (const { kind, values } of hostRecords(stdout)) {
    const [a = '', b = '', c = ''] = values;
    if (kind === 'container') {
      containers.push({ id: a, state: b, service: c });
    } else if (kind === 'recorded') {
      if (a === 'release') release = b;
      else if (a === 'mode') mode = b;
      else if (a === 'container') recorded.push({ id: b, service: c });
    } else if (kind === 'shared' && (a === 'same' || a === 'changed' || a === 'no-record')) {
      shared = a;
    }
  }
  return { containers, record: release === undefined ? undefined : { release, mode, containers: recorded }, shared };
}

function checkProject(project: string): void {
  if (!PROJECT_PATTERN.test(project)) throw new Error(`Project ${JSON.stringify(project)} is not a Compose project name.`);
}

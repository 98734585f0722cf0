/**
 * state/stack-started: what the last successful start of the stack left running, so that a deploy
 * can tell when `docker compose up` would have nothing to do and skip it (and its Compose start-up).
 * Written once a release verified: the release, the mode, a sha256 over every file under shared/
 * (the production values and any secret files) and the id and service of every container of the
 * project. Read back beside the project's containers as they are now; the digest is compared ON THE
 * HOST (`shared same|changed|no-record`), so nothing derived from the production values leaves it.
 * Compose would change nothing when the definitions, images and mounted files are those of the
 * release that was started (the change plan), the mode and shared/ are the same, and the very same
 * containers are there and running: any recreation (a rollback, a guard's return, a restore, an
 * operator's `up`) gives new ids, a stop leaves one not running, an edit of shared/ changes its digest.
 */
import type { SshConnection } from '@titan/ssh/connection';
import { PROJECT_PATTERN, type HostLayout } from './host-layout.js';
import type { TitanMode } from './compose-command.js';

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

const STACK_RECORD = 'state/stack-started';

// The digest of every regular file under shared/ (paths and contents), as one sha256.
const SHARED_DIGEST_PART = `shared_digest() {
  find shared -type f -print0 2> /dev/null | LC_ALL=C sort -z | xargs -0 -r sha256sum | sha256sum | cut -d ' ' -f 1
}
containers() {
  docker ps -a --no-trunc --filter "label=com.docker.compose.project=$project" --format '{{.ID}} {{.State}} {{.Label "com.docker.compose.service"}}'
}
`;

export const READ_STACK_RECORD_SCRIPT_NAME = 'titan-read-stack-record';

// $1 app dir, $2 project. Prints "container ID STATE SERVICE" lines, the record's lines (prefixed
// "record "; its digest line stays on the host) and "shared same|changed|no-record".
export const READ_STACK_RECORD_SCRIPT = `set -eu
app=$1 project=$2
cd "$app"
${SHARED_DIGEST_PART}containers | sed 's/^/container /'
if [ ! -f ${STACK_RECORD} ]; then
  echo 'shared no-record'
  exit 0
fi
grep -v '^shared ' ${STACK_RECORD} | sed 's/^/record /'
if [ "$(sed -n 's/^shared //p' ${STACK_RECORD})" = "$(shared_digest)" ]; then echo 'shared same'; else echo 'shared changed'; fi
`;

export const WRITE_STACK_RECORD_SCRIPT_NAME = 'titan-write-stack-record';

// $1 app dir, $2 project, $3 release id, $4 mode. The record of what runs now (written atomically).
export const WRITE_STACK_RECORD_SCRIPT = `set -eu
app=$1 project=$2 release=$3 mode=$4
cd "$app"
${SHARED_DIGEST_PART}mkdir -p state
{
  printf 'release %s\\nmode %s\\nshared %s\\n' "$release" "$mode" "$(shared_digest)"
  containers | awk '{ print "container " $1 " " $3 }'
} > ${STACK_RECORD}.tmp
chmod 0600 ${STACK_RECORD}.tmp
mv -f ${STACK_RECORD}.tmp ${STACK_RECORD}
`;

export async function readStackNow(connection: SshConnection, layout: HostLayout, project: string): Promise<StackNow> {
  checkProject(project);
  const { stdout } = await connection.runScript(READ_STACK_RECORD_SCRIPT, [layout.appDir, project], { name: READ_STACK_RECORD_SCRIPT_NAME, timeoutMs: 60_000 });
  return parseStackNow(stdout);
}

/** Records what runs now as the last successful start of `release` in `mode`. */
export async function writeStackRecord(connection: SshConnection, layout: HostLayout, project: string, release: string, mode: TitanMode): Promise<void> {
  checkProject(project);
  await connection.runScript(WRITE_STACK_RECORD_SCRIPT, [layout.appDir, project, release, mode], { name: WRITE_STACK_RECORD_SCRIPT_NAME, timeoutMs: 60_000 });
}

export function parseStackNow(stdout: string): StackNow {
  const containers: StackContainer[] = [];
  const recorded: { id: string; service: string }[] = [];
  let release: string | undefined;
  let mode = '';
  let shared: StackNow['shared'] = 'no-record';
  for (const line of stdout.split('\n')) {
    const words = line.split(' ');
    if (words[0] === 'container' && words.length >= 3) {
      containers.push({ id: words[1] ?? '', state: words[2] ?? '', service: words[3] ?? '' });
    } else if (words[0] === 'record') {
      if (words[1] === 'release') release = words[2];
      else if (words[1] === 'mode') mode = words[2] ?? '';
      else if (words[1] === 'container') recorded.push({ id: words[2] ?? '', service: words[3] ?? '' });
    } else if (words[0] === 'shared' && (words[1] === 'same' || words[1] === 'changed' || words[1] === 'no-record')) {
      shared = words[1];
    }
  }
  return { containers, record: release === undefined ? undefined : { release, mode, containers: recorded }, shared };
}

function checkProject(project: string): void {
  if (!PROJECT_PATTERN.test(project)) throw new Error(`Project ${JSON.stringify(project)} is not a Compose project name.`);
}

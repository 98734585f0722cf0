/**
 * The bad mark: `state/<id>.bad`, one JSON line `{"release":"<id>","at":"<UTC time>","reason":"..."}`
 * that says a release failed and must never be a rollback target. host-state reads it (a release is
 * `bad` while the file exists), `last-good` skips it, and a later deploy of that release that
 * verifies clears it (confirmRelease removes the file). Written in one place, MARK_BAD_PART: by the
 * guard's REVERT_SCRIPT on the host (guard-scripts.ts) and by markReleaseBad from the runner (a
 * rollback leaving a release). The time is the host's clock, like every other time the host writes.
 */
import { RELEASE_ID_PATTERN } from '@titan/release/release-id';
import type { SshConnection } from '@titan/ssh/connection';
import type { HostLayout } from './host-layout.js';

/**
 * Shell that writes the bad mark of `$release` with `$reason` (a JSON string literal made by the
 * runner's JSON encoder), atomically (a temporary file renamed over the mark). It runs in the
 * application folder, where `state/` exists; `$release` has been checked against the release id
 * pattern.
 */
export const MARK_BAD_PART = `printf '{"release":"%s","at":"%s","reason":%s}\\n' "$release" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$reason" > "state/$release.bad.tmp"
mv -f "state/$release.bad.tmp" "state/$release.bad"
`;

export const MARK_BAD_SCRIPT_NAME = 'titan-mark-bad';

// $1 app dir, $2 release id, $3 reason (a JSON string literal).
export const MARK_BAD_SCRIPT = `set -eu
app=$1
release=$2
reason=$3
cd "$app"
mkdir -p state
${MARK_BAD_PART}`;

/** Marks `releaseId` bad on the host (state/<id>.bad), with why. */
export async function markReleaseBad(connection: SshConnection, layout: HostLayout, releaseId: string, reason: string): Promise<void> {
  if (!RELEASE_ID_PATTERN.test(releaseId)) throw new Error(`Release id ${JSON.stringify(releaseId)} does not match ${RELEASE_ID_PATTERN.source}.`);
  await connection.runScript(MARK_BAD_SCRIPT, [layout.appDir, releaseId, JSON.stringify(reason)], { name: MARK_BAD_SCRIPT_NAME, timeoutMs: 30_000 });
}

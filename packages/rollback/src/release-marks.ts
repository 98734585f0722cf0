/**
 * The bad mark a rollback leaves on the release it returns from: `state/<id>.bad`, the same file and
 * JSON shape as packages/host's revert writes (`{"release","at","reason"}`), which host-state reads
 * and `last-good` skips. A later deploy of that release that verifies clears it (packages/host
 * confirmRelease removes the mark).
 */
import type { HostLayout } from '@titan/host/host-layout';
import { RELEASE_ID_PATTERN } from '@titan/release/release-id';
import type { SshConnection } from '@titan/ssh/connection';

export const MARK_BAD_SCRIPT_NAME = 'titan-mark-bad';

// $1 app dir, $2 release id, $3 the mark (one JSON line made by the runner's JSON encoder).
export const MARK_BAD_SCRIPT = `set -eu
cd "$1"
mkdir -p state
printf '%s\\n' "$3" > "state/$2.bad.tmp"
mv -f "state/$2.bad.tmp" "state/$2.bad"
`;

export async function markReleaseBad(connection: SshConnection, layout: HostLayout, releaseId: string, reason: string, at: Date = new Date()): Promise<void> {
  if (!RELEASE_ID_PATTERN.test(releaseId)) throw new Error(`Release id ${JSON.stringify(releaseId)} does not match ${RELEASE_ID_PATTERN.source}.`);
  const mark = JSON.stringify({ release: releaseId, at: at.toISOString().replace(/\.\d{3}Z$/, 'Z'), reason });
  await connection.runScript(MARK_BAD_SCRIPT, [layout.appDir, releaseId, mark], { name: MARK_BAD_SCRIPT_NAME, timeoutMs: 30_000 });
}

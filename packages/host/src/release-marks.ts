/**
 * The bad mark: `state/<id>.bad`, one JSON line `{"release":"<id>","at":"<UTC time>","reason":"..."}`
 * that says a release failed and must never be a rollback target. host-state reads it (a release is
 * `bad` while the file exists), `last-good` skips it, and a later deploy of that release that
 * verifies clears it (confirmRelease removes the file). Written in one place, scripts/lib/mark-bad.sh:
 * by the guard's revert on the host (scripts/revert.sh) and by markReleaseBad from the runner (a
 * rollback leaving a release). The time is the host's clock, like every other time the host writes.
 */
import { RELEASE_ID_PATTERN } from '@titan/release/release-id';
import type { SshConnection } from '@titan/ssh/connection';
import type { HostLayout } from './host-layout.js';
import { runHostScript } from './host-script.js';

/** Marks `releaseId` bad on the host (state/<id>.bad), with why. */
export async function markReleaseBad(connection: SshConnection, layout: HostLayout, releaseId: string, reason: string): Promise<void> {
  if (!RELEASE_ID_PATTERN.test(releaseId)) throw new Error(`Release id ${JSON.stringify(releaseId)} does not match ${RELEASE_ID_PATTERN.source}.`);
  await runHostScript(connection, layout, 'titan-mark-bad', [releaseId, JSON.stringify(reason)], { timeoutMs: 30_000 });
}

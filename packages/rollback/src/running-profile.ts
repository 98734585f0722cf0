/**
 * The stack profile of the release that runs: who takes the HARD_HALT and in which order the stack
 * stops. Read, before anything else and without any lock, from the manifest of the release `current`
 * points at (a release the host verified when it became current; released files are read-only).
 * A host with no current release, a manifest that cannot be read, or one signed before stack
 * profiles gives no profile and a sentence that says why: the caller falls back on what the operator
 * gave (halt-subject, halt-responder) or on the target release's verified profile, and otherwise
 * refuses what needs one.
 */
import type { HostLayout } from '@titan/host/host-layout';
import { readHostState } from '@titan/host/host-state';
import { readInstalledRelease } from '@titan/host/release-files';
import { stackProfileOf } from '@titan/release/manifest';
import type { StackProfile } from '@titan/release/stack-profile';
import type { SshConnection } from '@titan/ssh/connection';

export type RunningProfile = { readonly profile: StackProfile; readonly release: string } | { readonly profile: undefined; readonly problem: string };

export async function readRunningProfile(connection: SshConnection, layout: HostLayout): Promise<RunningProfile> {
  try {
    const { current } = await readHostState(connection, layout);
    if (current === undefined) return { profile: undefined, problem: `no release is current on ${connection.host}, so no stack profile says how the stack halts and stops` };
    const { manifest } = await readInstalledRelease(connection, layout, current);
    return { profile: stackProfileOf(manifest), release: current };
  } catch (error: unknown) {
    const message = error instanceof Error ? error.message.split('\n')[0] ?? '' : String(error);
    return { profile: undefined, problem: `the stack profile of the current release cannot be read: ${message}` };
  }
}

/**
 * `current` flips atomically, in both directions: a symbolic link to the release is made under a
 * temporary name, then renamed over `current` (`mv -T`, one rename(2)). At no moment is there no
 * `current` or a half-made one. The release folder is touched, so the releases' modification times
 * say which ran most recently (what retention keeps). scripts/switch-current.sh.
 */
import { randomBytes } from 'node:crypto';
import { RELEASE_ID_PATTERN } from '@titan/release/release-id';
import type { SshConnection } from '@titan/ssh/connection';
import type { HostLayout } from './host-layout.js';
import { lastRecord } from './host-record.js';
import { runHostScript } from './host-script.js';

export async function switchCurrent(connection: SshConnection, layout: HostLayout, releaseId: string): Promise<void> {
  if (!RELEASE_ID_PATTERN.test(releaseId)) throw new Error(`Release id ${JSON.stringify(releaseId)} does not match ${RELEASE_ID_PATTERN.source}.`);
  const tmp = `current.tmp-${randomBytes(6).toString('hex')}`;
  const { stdout } = await runHostScript(connection, layout, 'titan-switch-current', [releaseId, tmp], { timeoutMs: 60_000 });
  const target = lastRecord(stdout, 'current')?.[0] ?? '';
  if (target !== layout.currentTarget(releaseId)) {
    throw new Error(`After the switch, ${layout.current} points at ${JSON.stringify(target)}, not ${layout.currentTarget(releaseId)}.`);
  }
}

/** Where `current` points, read back (undefined when there is no `current`). */
export async function readCurrent(connection: SshConnection, layout: HostLayout): Promise<string | undefined> {
  const { stdout } = await connection.run(['readlink', layout.current], { acceptExitCodes: [1], timeoutMs: 30_000 });
  const target = stdout.trim();
  return target === '' ? undefined : target;
}

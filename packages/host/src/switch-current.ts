/**
 * `current` flips atomically, in both directions: a symbolic link to the release is made under a
 * temporary name, then renamed over `current` (`mv -T`, one rename(2)). At no moment is there no
 * `current` or a half-made one. The release folder is touched, so the releases' modification times
 * say which ran most recently (what retention keeps).
 */
import { randomBytes } from 'node:crypto';
import { RELEASE_ID_PATTERN } from '@titan/release/release-id';
import type { SshConnection } from '@titan/ssh/connection';
import type { HostLayout } from './host-layout.js';

export const SWITCH_CURRENT_SCRIPT_NAME = 'titan-switch-current';

// $1 app dir, $2 release id, $3 temporary link name. Prints the new link target.
export const SWITCH_CURRENT_SCRIPT = `set -eu
app=$1
release=$2
tmp=$3
cd "$app"
if [ ! -d "releases/$release" ]; then
  echo "releases/$release does not exist in $app" >&2
  exit 1
fi
ln -s "releases/$release" "$tmp"
mv -T "$tmp" current
touch "releases/$release"
readlink current
`;

export async function switchCurrent(connection: SshConnection, layout: HostLayout, releaseId: string): Promise<void> {
  if (!RELEASE_ID_PATTERN.test(releaseId)) throw new Error(`Release id ${JSON.stringify(releaseId)} does not match ${RELEASE_ID_PATTERN.source}.`);
  const tmp = `current.tmp-${randomBytes(6).toString('hex')}`;
  const { stdout } = await connection.runScript(SWITCH_CURRENT_SCRIPT, [layout.appDir, releaseId, tmp], { name: SWITCH_CURRENT_SCRIPT_NAME, timeoutMs: 60_000 });
  const target = stdout.trim();
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

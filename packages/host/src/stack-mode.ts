/**
 * state/mode: the TITAN_MODE the stack was last started with. Written just before a start with that
 * mode (so it is true even when what follows fails), by a return to a previous release
 * (guard-scripts.ts) and by a confirmation.
 */
import type { SshConnection } from '@titan/ssh/connection';
import type { TitanMode } from './compose-command.js';
import type { HostLayout } from './host-layout.js';

export const RECORD_MODE_SCRIPT_NAME = 'titan-record-mode';

// $1 app dir, $2 TITAN_MODE.
export const RECORD_MODE_SCRIPT = `set -eu
cd "$1"
mkdir -p state
printf '%s\\n' "$2" > state/mode.tmp
mv -f state/mode.tmp state/mode
`;

export async function recordStackMode(connection: SshConnection, layout: HostLayout, mode: TitanMode): Promise<void> {
  await connection.runScript(RECORD_MODE_SCRIPT, [layout.appDir, mode], { name: RECORD_MODE_SCRIPT_NAME, timeoutMs: 30_000 });
}

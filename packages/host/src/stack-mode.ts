/**
 * state/mode: the TITAN_MODE the stack was last started with. Written just before a start with that
 * mode (so it is true even when what follows fails), by a return to a previous release
 * (scripts/revert.sh) and by a confirmation.
 */
import type { SshConnection } from '@titan/ssh/connection';
import type { TitanMode } from './compose-command.js';
import type { HostLayout } from './host-layout.js';
import { runHostScript } from './host-script.js';

export async function recordStackMode(connection: SshConnection, layout: HostLayout, mode: TitanMode): Promise<void> {
  await runHostScript(connection, layout, 'titan-record-mode', [mode], { timeoutMs: 30_000 });
}

/**
 * The stack started again after a restore stopped it (stack-restore.ts): always DISARMED (state/mode
 * says so first), and under an operator's halt mark without its trading services, which stay
 * stopped until the halt is lifted.
 */
import type { ComposeTarget } from '@titan/host/compose-command';
import { readHaltMark } from '@titan/host/halt-mark';
import type { HostLayout } from '@titan/host/host-layout';
import { upStack, upStackExcept } from '@titan/host/stack-control';
import { recordStackMode } from '@titan/host/stack-mode';
import type { Logger } from '@titan/log/logger';
import type { SshConnection } from '@titan/ssh/connection';

export type StackRestart = 'all' | 'all but the trading services (halted)';

/** Starts the stack of `target` DISARMED; `trading` stay stopped under a halt mark. Says what started. */
export async function restartStackDisarmed(connection: SshConnection, layout: HostLayout, target: ComposeTarget, trading: readonly string[], logger: Logger): Promise<StackRestart> {
  await recordStackMode(connection, layout, 'DISARMED');
  if ((await readHaltMark(connection, layout)) !== undefined) {
    await upStackExcept(connection, target, trading, logger);
    return 'all but the trading services (halted)';
  }
  await upStack(connection, target, logger);
  return 'all';
}

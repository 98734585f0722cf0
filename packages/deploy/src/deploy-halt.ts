/**
 * An operator's halt that arrives while a deploy runs (a HARD_HALT or a rollback in mode stop,
 * which take no lock) wins: at each safe point before the stack is started, armed or confirmed the
 * deploy looks for a halt mark it is not lifting, and stops there if there is one. What it stopped
 * is then returned by the guard's plan, which under a halt never starts the trading services.
 */
import { describeHalt, HostHaltedError, readHaltMark } from '@titan/host/halt-mark';
import type { HostLayout } from '@titan/host/host-layout';
import type { SshConnection } from '@titan/ssh/connection';

/** Throws HostHaltedError when the host carries a halt mark other than the one `lifting` names. */
export async function checkNoNewHalt(connection: SshConnection, layout: HostLayout, lifting: string | undefined, where: string): Promise<void> {
  const mark = await readHaltMark(connection, layout);
  if (mark === undefined || (lifting !== undefined && mark.nonce === lifting)) return;
  throw new HostHaltedError(
    `An operator halted the host ${describeHalt(mark)} while this deploy ran; it stops here, ${where}. ` +
      'Nothing automatic starts trading while the halt stands: deploy again with lift-halt: true, or run action-rollback with mode restart.',
    mark,
  );
}

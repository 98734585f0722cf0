/**
 * Who holds the deploy lock: the holder file the host's side of the lock writes
 * (scripts/deploy-lock.sh; the guard writes its own while it runs a return plan), read back to name
 * the holder when a deploy waited in vain, and the errors of a lock that was busy or lost.
 */
import type { SshConnection } from '@titan/ssh/connection';
import type { HostLayout } from './host-layout.js';

/** Who holds (or asks for) the lock. Never a secret: this is written to a world-readable file. */
export interface LockHolderInfo {
  runUrl: string;
  release: string;
  actor: string;
}

/** What the holder file says, as far as it could be read. */
export interface LockHolderRecord extends Partial<LockHolderInfo> {
  pid?: number;
  since?: string;
  heartbeatTimeout?: number;
}

export class DeployLockBusyError extends Error {
  override readonly name = 'DeployLockBusyError';

  readonly holder: LockHolderRecord | undefined;
  constructor(host: string, waitedSeconds: number, holder: LockHolderRecord | undefined) {
    const who =
      holder === undefined
        ? 'a deploy whose holder file could not be read'
        : `${holder.runUrl !== undefined && holder.runUrl !== '' ? holder.runUrl : 'a run without a URL'} ` +
          `(release ${holder.release ?? 'unknown'}, actor ${holder.actor ?? 'unknown'}, since ${holder.since ?? 'unknown'}, host pid ${holder.pid ?? 'unknown'})`;
    super(
      `The deploy lock on ${host} is held by ${who}; waited ${waitedSeconds} s (lock-timeout). ` +
        'Let that deploy finish and run this one again, or raise lock-timeout. The lock lives as long as its deploy is alive: ' +
        'a killed deploy frees it at once, a frozen or cut-off one within its heartbeat-timeout.',
    );
    this.holder = holder;
  }
}

export class DeployLockLostError extends Error {
  override readonly name = 'DeployLockLostError';
}

/** Reads the holder file (who holds the lock now); undefined when there is none or it is unreadable. */
export async function readLockHolder(connection: SshConnection, layout: HostLayout): Promise<LockHolderRecord | undefined> {
  try {
    const result = await connection.run(['cat', layout.lockHolderFile], { timeoutMs: 15_000, logOutput: 'none' });
    return parseLockHolder(result.stdout);
  } catch {
    return undefined;
  }
}

export function parseLockHolder(text: string): LockHolderRecord | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    const record = value as Record<string, unknown>;
    const str = (key: string): string | undefined => (typeof record[key] === 'string' ? record[key] : undefined);
    const out: LockHolderRecord = {};
    if (typeof record['pid'] === 'number') out.pid = record['pid'];
    if (typeof record['heartbeatTimeout'] === 'number') out.heartbeatTimeout = record['heartbeatTimeout'];
    const since = str('since');
    if (since !== undefined) out.since = since;
    const runUrl = str('runUrl');
    if (runUrl !== undefined) out.runUrl = runUrl;
    const release = str('release');
    if (release !== undefined) out.release = release;
    const actor = str('actor');
    if (actor !== undefined) out.actor = actor;
    return out;
  } catch {
    return undefined;
  }
}

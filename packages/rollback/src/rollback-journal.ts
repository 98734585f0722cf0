/**
 * A rollback's line in the host's journal.jsonl (the file deploys write, with packages/host's
 * APPEND_JOURNAL_SCRIPT: one O_APPEND write per line). One line per rollback run that reached the
 * host, whatever its mode and outcome. `action` is `rollback`; `release` is what runs afterwards and
 * `previous` what ran before (the fields a deploy line has, so `to: previous` and people read both
 * alike); `mode` is TITAN_MODE afterwards; `rollbackMode` is halt, stop, restart or rollback.
 * Names, ids, URLs, times and the operator's reason only: never a secret.
 */
import type { HostLayout } from '@titan/host/host-layout';
import { APPEND_JOURNAL_SCRIPT, APPEND_JOURNAL_SCRIPT_NAME, parseJournal } from '@titan/host/journal';
import type { SshConnection } from '@titan/ssh/connection';

export interface RollbackJournalEntry {
  readonly time: string;
  readonly action: 'rollback';
  readonly rollbackMode: string;
  readonly result: string;
  readonly release: string | null;
  readonly previous: string | null;
  readonly mode: string | null;
  readonly to: string | null;
  readonly actor: string;
  readonly runUrl: string;
  readonly reason: string;
  readonly halt: { readonly subject: string; readonly nonce: string; readonly acknowledged: boolean };
  readonly refused: readonly { readonly release: string; readonly reason: string }[];
  readonly stopped: readonly string[];
  /** Phase name -> milliseconds. */
  readonly phases: Readonly<Record<string, number>>;
  readonly error?: string;
}

export async function appendRollbackJournal(connection: SshConnection, layout: HostLayout, entry: RollbackJournalEntry): Promise<void> {
  const line = JSON.stringify(entry);
  if (line.includes('\n')) throw new Error('a journal line must be one line');
  await connection.runScript(APPEND_JOURNAL_SCRIPT, [layout.journal, line], { name: APPEND_JOURNAL_SCRIPT_NAME, timeoutMs: 30_000 });
}

/** The journal's last 5000 entries, oldest first (an absent journal is empty). */
export async function readJournal(connection: SshConnection, layout: HostLayout): Promise<Record<string, unknown>[]> {
  const { stdout } = await connection.run(['sh', '-c', 'tail -n 5000 -- "$1" 2>/dev/null || true', 'titan-read-journal', layout.journal], {
    timeoutMs: 30_000,
    logOutput: 'none',
  });
  return parseJournal(stdout);
}

/**
 * The host's journal.jsonl as a rollback reads it. A rollback appends its own line with packages/host's
 * appendJournal (RollbackJournalEntry: one line per rollback run that reached the host, whatever its
 * mode and outcome; `action` is `rollback`). Names, ids, URLs, times and the operator's reason only:
 * never a secret.
 */
import type { HostLayout } from '@titan/host/host-layout';
import { parseJournal } from '@titan/host/journal';
import type { SshConnection } from '@titan/ssh/connection';

/** The journal's last 5000 entries, oldest first (an absent journal is empty). */
export async function readJournal(connection: SshConnection, layout: HostLayout): Promise<Record<string, unknown>[]> {
  const { stdout } = await connection.run(['sh', '-c', 'tail -n 5000 -- "$1" 2>/dev/null || true', 'titan-read-journal', layout.journal], {
    timeoutMs: 30_000,
    logOutput: 'none',
  });
  return parseJournal(stdout);
}

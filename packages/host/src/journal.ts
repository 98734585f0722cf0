/**
 * journal.jsonl: one JSON line per deploy that changed the host (and one per guard revert), so the
 * host itself tells who ran what, when, and how it ended. Lines carry names, ids, URLs and times:
 * never a secret. A deploy refused before it changed anything leaves no line (the host stays
 * byte-identical); its job summary says why.
 */
import type { SshConnection } from '@titan/ssh/connection';
import type { HostLayout } from './host-layout.js';

export type DeployResult = 'deployed' | 'rolled-back' | 'failed';

export interface JournalEntry {
  readonly time: string;
  readonly action: 'deploy';
  readonly result: DeployResult;
  readonly release: string;
  readonly previous: string | null;
  readonly mode: string;
  readonly actor: string;
  readonly runUrl: string;
  /** Phase name -> milliseconds. */
  readonly phases: Readonly<Record<string, number>>;
  readonly reason?: string;
}

export const APPEND_JOURNAL_SCRIPT_NAME = 'titan-journal';

// $1 journal file, $2 one JSON line. O_APPEND keeps concurrent lines whole.
export const APPEND_JOURNAL_SCRIPT = `set -eu
printf '%s\\n' "$2" >> "$1"
`;

export async function appendJournal(connection: SshConnection, layout: HostLayout, entry: JournalEntry): Promise<void> {
  const line = JSON.stringify(entry);
  if (line.includes('\n')) throw new Error('a journal line must be one line');
  await connection.runScript(APPEND_JOURNAL_SCRIPT, [layout.journal, line], { name: APPEND_JOURNAL_SCRIPT_NAME, timeoutMs: 30_000 });
}

/** The journal's entries, oldest first; lines that are not JSON objects are skipped. */
export function parseJournal(text: string): Record<string, unknown>[] {
  const entries: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const value: unknown = JSON.parse(line);
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) entries.push(value as Record<string, unknown>);
    } catch {
      // a torn line is skipped, not fatal
    }
  }
  return entries;
}

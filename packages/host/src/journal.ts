/**
 * journal.jsonl: one JSON line per deploy that changed the host or was cancelled, one per rollback
 * run that reached the host, so the host itself tells who ran what, when, and how it ended. The
 * host writes its own lines too: a guard or a recovery returning the host (`reverted-by-guard`,
 * `restored-by-guard`, `returned-by-guard`, `…-by-recovery`: scripts/revert.sh) and a deploy lock
 * whose runner was lost (`action: lock`, `result: lost`, with why: scripts/deploy-lock.sh), all in
 * one format, `{"time","action","result",…}` (journalLine, scripts/lib/journal.sh). Lines
 * carry names, ids, URLs and times: never a secret. A deploy refused before it changed anything
 * leaves no line (the host stays byte-identical); its job summary says why. Every line the runner
 * writes goes through appendJournal (scripts/append-journal.sh): one O_APPEND write per line.
 */
import type { Logger } from '@titan/log/logger';
import type { SshConnection } from '@titan/ssh/connection';
import { describeError } from '@titan/ssh/errors';
import type { HostLayout } from './host-layout.js';
import { runHostScript } from './host-script.js';

export type DeployResult = 'deployed' | 'rolled-back' | 'failed' | 'cancelled';

/** A deploy's line. */
export interface DeployJournalEntry {
  readonly time: string;
  readonly action: 'deploy';
  /** Where the stack runs: absent for Docker Compose (the default), `swarm` for a swarm stack. */
  readonly target?: 'swarm';
  readonly result: DeployResult;
  readonly release: string;
  readonly previous: string | null;
  readonly mode: string;
  readonly actor: string;
  readonly runUrl: string;
  /** Phase name -> milliseconds. */
  readonly phases: Readonly<Record<string, number>>;
  /** Where a deploy that did not deploy stopped (the phase a cancellation or a failure arrived in). */
  readonly phase?: string;
  readonly reason?: string;
}

/**
 * A rollback's line (packages/rollback). `release` is what runs afterwards and `previous` what ran
 * before (the fields a deploy line has, so `to: previous` and people read both alike); `mode` is
 * TITAN_MODE afterwards; `rollbackMode` is halt, stop, restart or rollback.
 */
export interface RollbackJournalEntry {
  readonly time: string;
  readonly action: 'rollback';
  /** Absent for Docker Compose; `swarm` for a swarm stack (no HARD_HALT is published: halt is empty). */
  readonly target?: 'swarm';
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
  /** Where a cancelled run stood when the cancellation arrived. */
  readonly phase?: string;
  readonly error?: string;
}

/**
 * A restore into the stack itself (packages/restore): which backup, which parts, the mode the stack
 * was started with afterwards (null when it was not stopped), and what was kept of the data it replaced.
 */
export interface RestoreJournalEntry {
  readonly time: string;
  readonly action: 'restore';
  readonly result: 'restored' | 'failed';
  readonly backup: string;
  readonly parts: readonly string[];
  readonly mode: string | null;
  readonly kept: readonly string[];
  /** Migrations of the running release the backup predated, applied to the restored database. */
  readonly migrationsApplied: readonly string[];
  readonly actor: string;
  readonly runUrl: string;
  /** Phase name -> milliseconds. */
  readonly phases: Readonly<Record<string, number>>;
  readonly error?: string;
}

/** One line of journal.jsonl, as the runner writes it (`action` tells which). */
export type JournalEntry = DeployJournalEntry | RollbackJournalEntry | RestoreJournalEntry;

const WORD = /^[a-z][a-z-]*$/;
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/**
 * The line `entry` is written as: `{"time":…,"action":…,"result":…,…the rest}`, the one format of
 * every journal line, the host's own included (scripts/lib/journal.sh writes the same shape).
 */
export function journalLine(entry: JournalEntry): string {
  const { time, action, result, ...rest } = entry;
  return JSON.stringify({ time, action, result, ...rest });
}

export async function appendJournal(connection: SshConnection, layout: HostLayout, entry: JournalEntry): Promise<void> {
  const { time, action, result, ...rest } = entry;
  if (!TIME.test(time) || !WORD.test(action) || !WORD.test(result)) {
    throw new Error(`A journal line needs an ISO time and words for action and result, not ${JSON.stringify({ time, action, result })}.`);
  }
  const fields = JSON.stringify(rest).slice(1, -1);
  if (fields.includes('\n')) throw new Error('a journal line must be one line');
  await runHostScript(connection, layout, 'titan-append-journal', [action, result, fields, time], { timeoutMs: 30_000 });
}

/**
 * A run's own line at its end (deploy, rollback, restore, swarm): appended, or a warning naming the
 * journal when the host did not take it (the run's outcome stands either way).
 */
export async function appendRunJournal(connection: SshConnection, layout: HostLayout, entry: JournalEntry, logger: Logger): Promise<void> {
  await appendJournal(connection, layout, entry).catch((e: unknown) => logger.warning(`Could not append to ${layout.journal}: ${describeError(e)}`));
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

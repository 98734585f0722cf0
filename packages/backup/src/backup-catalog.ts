/**
 * The backups under a prefix as the bucket holds them: every backup folder, complete (its manifest
 * is there) or not, with its objects; and retention applied to them: decided by retention.ts,
 * deleted here, the manifest of each removed backup first (so that a deletion cut short leaves an
 * incomplete backup, never a complete one with objects missing), and never a key outside the prefix.
 */
import type { Logger } from '@titan/log/logger';
import type { ObjectStore } from '@titan/spaces/object-store';
import { type BackupLayout, MANIFEST_NAME, VERIFY_NAME } from './backup-layout.js';
import { planRetention, type RetentionDecision, type RetentionPolicy } from './retention.js';

export interface CatalogEntry {
  readonly id: string;
  readonly complete: boolean;
  /** What verify.json says, when it is there (read separately); here: whether it exists. */
  readonly hasVerifyRecord: boolean;
  readonly keys: readonly string[];
  readonly bytes: number;
}

export async function listBackups(store: ObjectStore, layout: BackupLayout): Promise<CatalogEntry[]> {
  const entries = await store.list(layout.root);
  const byId = new Map<string, { keys: string[]; bytes: number }>();
  for (const entry of entries) {
    const id = layout.idOf(entry.key);
    if (id === undefined) continue;
    const folder = byId.get(id) ?? { keys: [], bytes: 0 };
    folder.keys.push(entry.key);
    folder.bytes += entry.size;
    byId.set(id, folder);
  }
  return [...byId.entries()]
    .map(([id, folder]) => ({
      id,
      complete: folder.keys.includes(`${layout.dir(id)}${MANIFEST_NAME}`),
      hasVerifyRecord: folder.keys.includes(`${layout.dir(id)}${VERIFY_NAME}`),
      keys: folder.keys,
      bytes: folder.bytes,
    }))
    .sort((a, b) => (a.id < b.id ? 1 : -1));
}

export interface RetentionOutcome {
  readonly decisions: readonly RetentionDecision[];
  readonly removedKeys: readonly string[];
}

export async function applyRetention(store: ObjectStore, layout: BackupLayout, policy: RetentionPolicy, logger: Logger, now: Date = new Date()): Promise<RetentionOutcome> {
  const backups = await listBackups(store, layout);
  const decisions = planRetention(backups, policy, now);
  const byId = new Map(backups.map((b) => [b.id, b]));
  const removedKeys: string[] = [];
  for (const decision of decisions) {
    if (decision.keep) continue;
    const backup = byId.get(decision.id);
    if (backup === undefined) continue;
    const dir = layout.dir(decision.id);
    const manifest = backup.keys.filter((k) => k === `${dir}${MANIFEST_NAME}`);
    const rest = backup.keys.filter((k) => k !== `${dir}${MANIFEST_NAME}`);
    if (manifest.length > 0) await store.deleteKeys(manifest, dir);
    if (rest.length > 0) await store.deleteKeys(rest, dir);
    removedKeys.push(...manifest, ...rest);
    logger.info(`Retention: removed backup ${decision.id} (${decision.reasons.join('; ')}), ${backup.keys.length} object(s).`);
  }
  const kept = decisions.filter((d) => d.keep && d.complete).length;
  logger.info(`Retention under ${layout.root}: ${kept} complete backup(s) kept, ${decisions.filter((d) => !d.keep).length} removed.`);
  return { decisions, removedKeys };
}

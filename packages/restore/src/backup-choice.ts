/**
 * Which backup a restore uses: a named one, or the latest complete one. A backup without its
 * manifest is incomplete and refused by name; `latest` skips it, and skips a backup whose proof
 * failed (its verify.json says so), saying which it skipped. The manifest is read and checked here,
 * and every object it lists must be in the bucket with its recorded size before anything is used.
 */
import { listBackups } from '@titan/backup/backup-catalog';
import { BACKUP_ID_PATTERN, type BackupLayout } from '@titan/backup/backup-layout';
import { type BackupManifest, parseBackupManifest } from '@titan/backup/backup-manifest';
import type { Logger } from '@titan/log/logger';
import type { ObjectStore } from '@titan/spaces/object-store';

export class BackupChoiceError extends Error {
  override readonly name = 'BackupChoiceError';
}

export interface ChosenBackup {
  readonly id: string;
  readonly manifest: BackupManifest;
  /** Backups `latest` passed over, and why. */
  readonly skipped: readonly { readonly id: string; readonly why: string }[];
}

export async function chooseBackup(store: ObjectStore, layout: BackupLayout, wanted: string, logger: Logger): Promise<ChosenBackup> {
  const backups = await listBackups(store, layout);
  const skipped: { id: string; why: string }[] = [];
  let candidates = backups;
  if (wanted !== 'latest') {
    if (!BACKUP_ID_PATTERN.test(wanted)) throw new BackupChoiceError(`${JSON.stringify(wanted)} is neither latest nor a backup id (like 20261201T021700Z-3f9a1c).`);
    const found = backups.find((b) => b.id === wanted);
    if (found === undefined) throw new BackupChoiceError(`There is no backup ${wanted} under ${layout.root} (the newest there: ${backups.slice(0, 3).map((b) => b.id).join(', ') || 'none'}).`);
    if (!found.complete) throw new BackupChoiceError(`Backup ${wanted} is incomplete: it has no manifest (it failed, or is still being taken). A restore never uses an incomplete backup.`);
    candidates = [found];
  }
  for (const backup of candidates) {
    if (!backup.complete) {
      skipped.push({ id: backup.id, why: 'incomplete (no manifest)' });
      continue;
    }
    if (wanted === 'latest' && backup.hasVerifyRecord) {
      const verdict = JSON.parse((await store.getBytes(layout.verifyKey(backup.id), 4 * 1024 * 1024)).toString('utf8')) as { ok?: unknown; problems?: unknown };
      if (verdict.ok !== true) {
        skipped.push({ id: backup.id, why: `its proof failed (${Array.isArray(verdict.problems) ? verdict.problems.map(String).join('; ') : 'see verify.json'})` });
        continue;
      }
    }
    const manifest = parseBackupManifest(await store.getBytes(layout.manifestKey(backup.id)), layout.manifestKey(backup.id));
    if (manifest.backupId !== backup.id) throw new BackupChoiceError(`${layout.manifestKey(backup.id)} describes backup ${manifest.backupId}, not ${backup.id}.`);
    const present = new Map((await store.list(layout.dir(backup.id))).map((e) => [e.key, e.size]));
    const missing = manifest.objects.filter((o) => present.get(o.key) !== o.size);
    if (missing.length > 0) {
      const first = missing[0];
      throw new BackupChoiceError(`Backup ${backup.id} is damaged: ${missing.length} object(s) missing or of the wrong size (first: ${first?.key ?? ''}, expected ${first?.size ?? 0} bytes, found ${first === undefined ? '?' : (present.get(first.key) ?? 'none')}).`);
    }
    for (const s of skipped) logger.warning(`Skipped backup ${s.id}: ${s.why}.`);
    return { id: backup.id, manifest, skipped };
  }
  throw new BackupChoiceError(`There is no complete backup under ${layout.root}${skipped.length > 0 ? ` (skipped: ${skipped.map((s) => `${s.id} ${s.why}`).join('; ')})` : ''}.`);
}

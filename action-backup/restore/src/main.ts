import * as core from '@actions/core';
import { coreLogger } from '@titan/action-kit/core-logger';
import { hostConnectOptions } from '@titan/action-kit/host-inputs';
import { formatSeconds, JobSummary } from '@titan/action-kit/job-summary';
import { BackupLayout } from '@titan/backup/backup-layout';
import { enableGarbagePacing } from '@titan/backup/garbage-pacer';
import { findServiceContainer } from '@titan/backup/stack-container';
import type { Logger } from '@titan/log/logger';
import { chooseBackup, type ChosenBackup } from '@titan/restore/backup-choice';
import { type HostRestoreResult, restorePostgresOnHost } from '@titan/restore/postgres-restore';
import { restoreIntoStack, type StackRestoreOutcome } from '@titan/restore/stack-restore';
import { HostLayout } from '@titan/host/host-layout';
import { ObjectStore } from '@titan/spaces/object-store';
import { createSpacesClient } from '@titan/spaces/spaces-client';
import { connectSsh } from '@titan/ssh/connect';
import type { SshConnection } from '@titan/ssh/connection';
import { type RestoreSettings, readSettings } from './settings.js';

export async function run(logger: Logger = coreLogger): Promise<void> {
  const settings = readSettings();
  // The streams' dead chunks are collected as they die, not tens of MB later (garbage-pacer.ts).
  enableGarbagePacing();
  core.setOutput('result', 'failed');
  core.setOutput('backup-id', '');
  core.setOutput('database', '');
  const layout = new BackupLayout(settings.prefix);
  const store = new ObjectStore(
    createSpacesClient({
      endpoint: settings.spaces.endpoint,
      region: settings.spaces.region,
      forcePathStyle: settings.spaces.forcePathStyle,
      credentials: { accessKeyId: settings.spaces.accessKeyId, secretAccessKey: settings.spaces.secretAccessKey },
    }),
    settings.spaces.endpoint,
    settings.spaces.bucket,
  );
  const started = performance.now();
  let chosen: ChosenBackup | undefined;
  let result: HostRestoreResult | undefined;
  let stack: StackRestoreOutcome | undefined;
  let connection: SshConnection | undefined;
  try {
    chosen = await logger.group(`Choose the backup (${settings.backup}) under ${layout.root}`, () => chooseBackup(store, layout, settings.backup, logger));
    const backup = chosen;
    core.setOutput('backup-id', backup.id);
    const object = backup.manifest.objects.find((o) => o.part === 'postgres');
    if (backup.manifest.encryption.scheme === 'age' && settings.identity === undefined) {
      throw new Error(`Backup ${backup.id} is encrypted: restore-key (an age identity among its recipients) is required.`);
    }
    connection = await logger.group(`Connect to ${settings.user}@${settings.host}`, () => connectSsh(hostConnectOptions(settings, logger)));
    const ssh = connection;
    if (settings.target === 'stack') {
      stack = await restoreIntoStack(ssh, {
        store,
        manifest: backup.manifest,
        identity: settings.identity,
        layout: new HostLayout(settings.appDir),
        project: settings.project,
        parts: settings.parts,
        postgres: { service: settings.postgresService, database: backup.manifest.postgres?.database ?? '', adminUser: settings.adminUser, owner: settings.owner },
        redis: settings.redis,
        nats: settings.nats,
        lockTimeoutSeconds: settings.lockTimeoutSeconds,
        timeoutMs: settings.timeoutMs,
        actor: settings.actor,
        runUrl: settings.runUrl,
        logger,
      });
      if (!stack.ok) throw stack.error ?? new Error('The restore into the stack failed.');
    } else {
      if (object === undefined || backup.manifest.postgres === null) throw new Error(`Backup ${backup.id} holds no Postgres dump.`);
      const database = settings.database ?? defaultDatabase(backup.manifest.postgres.database, backup.id);
      result = await logger.group(`Restore ${object.key} into database ${database}`, async () =>
        restorePostgresOnHost(ssh, {
          store,
          manifest: backup.manifest,
          object,
          identity: settings.identity,
          container: await findServiceContainer(ssh, settings.project, settings.postgresService),
          adminUser: settings.adminUser,
          owner: settings.owner,
          database,
          timeoutMs: settings.timeoutMs,
          logger,
        }),
      );
    }
  } catch (error: unknown) {
    await summary(settings, chosen, undefined, error, performance.now() - started, stack).write();
    throw error;
  } finally {
    await connection?.close();
  }
  if (stack !== undefined) {
    core.setOutput('database', chosen?.manifest.postgres?.database ?? '');
    core.setOutput('result', 'restored');
    await summary(settings, chosen, undefined, undefined, performance.now() - started, stack).write();
    return;
  }
  if (result === undefined) throw new Error('The restore ended without a result.');
  core.setOutput('database', result.database);
  core.setOutput('result', 'restored');
  await summary(settings, chosen, result, undefined, performance.now() - started).write();
}

/** `titan_restore_20261201_021700`: the database of the backup, its date and time. */
function defaultDatabase(source: string, id: string): string {
  const stamp = `${id.slice(0, 8)}_${id.slice(9, 15)}`;
  return `${source.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 40)}_restore_${stamp}`;
}

function summary(settings: RestoreSettings, chosen: ChosenBackup | undefined, result: HostRestoreResult | undefined, error: unknown, ms: number, stack?: StackRestoreOutcome): JobSummary {
  const s = new JobSummary();
  const ok = result !== undefined || stack?.ok === true;
  const into = settings.target === 'stack' ? `the stack ${settings.project} itself` : (result?.database ?? '');
  s.heading(ok ? `✅ Backup ${chosen?.id ?? ''} restored into ${into} on ${settings.host}` : `❌ Restore on ${settings.host} failed`, 2);
  s.facts([
    ['backup', chosen?.id ?? `(${settings.backup})`],
    ['release it was taken from', chosen?.manifest.release?.id ?? '(unknown)'],
    ['taken', chosen?.manifest.startedAt ?? ''],
    ['target', settings.target === 'stack' ? `the stack itself: ${[...settings.parts].join(', ')}` : 'a new database beside the stack\'s own'],
    ['into', settings.target === 'stack' ? into : (result?.database ?? '(nothing was kept)')],
    ...(settings.target === 'stack'
      ? ([
          ['kept of what it replaced', stack?.kept.join('; ') || '(nothing was replaced)'],
          ['migrations the backup predates, applied to it', stack?.migrationsApplied.join(', ') || '(none: its history matches the running release)'],
          ['stack started again', stack === undefined ? '' : stack.started === 'not stopped' ? 'it was not stopped' : `${stack.started}, DISARMED`],
        ] as [string, string][])
      : ([['the stack\'s own database', 'not touched']] as [string, string][])),
    ['duration', formatSeconds(ms)],
  ]);
  if (stack !== undefined && stack.streams.length > 0) s.table(['stream', 'messages restored', 'replaced an existing one'], stack.streams.map((t) => [t.name, String(t.messages), t.replaced ? 'yes' : 'no']));
  if (stack !== undefined) s.timeline(stack.phases.map((p) => ({ name: p.name, startedAtMs: p.startedAtMs, durationMs: p.durationMs, outcome: p.outcome })));
  if (error !== undefined) s.heading('What went wrong', 3).text(error instanceof Error ? error.message : 'unknown error');
  if (chosen !== undefined && chosen.skipped.length > 0) s.heading('Backups passed over', 3).table(['backup', 'why'], chosen.skipped.map((k) => [k.id, k.why]));
  if (result !== undefined) {
    s.heading('Checked against the backup', 3);
    s.table(['table', 'rows', 'checksum'], result.tables.map((t) => [t.name, String(t.rows ?? 'missing'), t.expectedChecksum === null ? '-' : 'matches']));
  }
  return s;
}

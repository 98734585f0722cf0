import * as core from '@actions/core';
import { coreLogger } from '@titan/action-kit/core-logger';
import { hostConnectOptions } from '@titan/action-kit/host-inputs';
import { JobSummary } from '@titan/action-kit/job-summary';
import { applyRetention, type RetentionOutcome } from '@titan/backup/backup-catalog';
import { BackupLayout } from '@titan/backup/backup-layout';
import { enableGarbagePacing } from '@titan/backup/garbage-pacer';
import { type BackupOutcome, takeBackup } from '@titan/backup/backup-run';
import { HostLayout } from '@titan/host/host-layout';
import type { Logger } from '@titan/log/logger';
import { ObjectStore } from '@titan/spaces/object-store';
import { createSpacesClient } from '@titan/spaces/spaces-client';
import { connectSsh } from '@titan/ssh/connect';
import type { SshConnection } from '@titan/ssh/connection';
import { ConfigurationError } from '@titan/action-kit/configuration-error';
import { recipientOf } from '@titan/backup/encryption';
import { snapshotVolume } from '@titan/backup/volume-snapshot';
import { createDigitalOceanClient } from '@titan/digitalocean/client';
import { verifyBackup, type VerifyReport } from '@titan/restore/verify-backup';
import { type BackupSettings, readSettings } from './settings.js';
import { backupSummary } from './summary.js';

export async function run(logger: Logger = coreLogger): Promise<void> {
  const settings = readSettings();
  // The streams' dead chunks are collected as they die, not tens of MB later (garbage-pacer.ts).
  enableGarbagePacing();
  setOutputs({ backupId: '', complete: false, manifestKey: '', storedBytes: 0, removed: [], verified: false });
  await checkVerifyKey(settings);
  const layout = new BackupLayout(settings.prefix);
  const client = createSpacesClient({
    endpoint: settings.spaces.endpoint,
    region: settings.spaces.region,
    forcePathStyle: settings.spaces.forcePathStyle,
    credentials: { accessKeyId: settings.spaces.accessKeyId, secretAccessKey: settings.spaces.secretAccessKey },
  });
  const store = new ObjectStore(client, settings.spaces.endpoint, settings.spaces.bucket);

  let outcome: BackupOutcome;
  let report: VerifyReport | undefined;
  let connection: SshConnection | undefined;
  const abort = new AbortController();
  const onSignal = (): void => abort.abort(new Error('the run was cancelled'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    connection = await logger.group(`Connect to ${settings.user}@${settings.host}`, () => connectSsh(hostConnectOptions(settings, logger)));
    const ssh = connection;
    outcome = await takeBackup(ssh, {
      store,
      layout,
      encryption: settings.encryption,
      hostLayout: new HostLayout(settings.appDir),
      project: settings.project,
      postgres: settings.parts.has('postgres') ? settings.postgres : undefined,
      redis: settings.parts.has('redis') ? settings.redis : undefined,
      jetstream:
        settings.parts.has('jetstream') && settings.nats.password !== undefined
          ? { host: settings.nats.address.host, port: settings.nats.address.port, user: settings.nats.user, password: settings.nats.password, streams: settings.nats.streams, timeoutMs: 30_000 }
          : undefined,
      volumeSnapshot:
        settings.volumeSnapshot === undefined
          ? undefined
          : (() => {
              const v = settings.volumeSnapshot;
              return (backupId: string) =>
                snapshotVolume({
                  client: createDigitalOceanClient({ token: v.token, logger, baseUrl: v.apiUrl }),
                  volume: v.volume,
                  region: v.region,
                  tag: v.tag,
                  extraTags: [`titan-project-${settings.project}`],
                  keep: v.keep,
                  name: `${settings.project}-jetstream-${backupId}`,
                  logger,
                });
            })(),
      partTimeoutMs: settings.partTimeoutMs,
      logger,
      signal: abort.signal,
    });
    const verify = settings.verify;
    if (outcome.complete && verify !== undefined && verify.where === 'host') {
      const done = outcome;
      report = await logger.group(`Verify: restore ${done.backupId} from Spaces into a throwaway database on ${settings.host}`, () =>
        verifyBackup(store, layout, done.backupId, verify.identity, verify.images, logger, {
          connection: ssh,
          project: settings.project,
          service: settings.postgres.service,
          adminUser: verify.adminUser,
          owner: settings.postgres.user,
          timeoutMs: settings.partTimeoutMs,
        }),
      );
    }
  } catch (error: unknown) {
    await new JobSummary()
      .heading(`❌ Backup of ${settings.host} failed`)
      .text(`Nothing was stored: ${error instanceof Error ? error.message : String(error)}`)
      .write();
    throw error;
  } finally {
    await connection?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  let retention: RetentionOutcome | undefined;
  let retentionError: Error | undefined;
  if (outcome.complete && settings.retention !== undefined) {
    const policy = settings.retention;
    try {
      retention = await logger.group(`Retention under ${layout.root}`, () => applyRetention(store, layout, policy, logger));
    } catch (error: unknown) {
      retentionError = error instanceof Error ? error : new Error(String(error));
      logger.error(`Retention failed: ${retentionError.message}`);
    }
  }

  const verify = settings.verify;
  if (outcome.complete && verify !== undefined && verify.where === 'runner') {
    report = await logger.group(`Verify: restore ${outcome.backupId} from Spaces on the runner`, () => verifyBackup(store, layout, outcome.backupId, verify.identity, verify.images, logger));
  }

  const removed = retention?.decisions.filter((d) => !d.keep).map((d) => d.id) ?? [];
  setOutputs({
    backupId: outcome.backupId,
    complete: outcome.complete,
    manifestKey: outcome.complete ? outcome.manifestKey : '',
    storedBytes: outcome.objects.reduce((sum, o) => sum + o.size, 0),
    removed,
    verified: report?.ok === true,
  });
  await backupSummary(outcome, retention, retentionError, report, { host: settings.host, bucket: settings.spaces.bucket, endpoint: settings.spaces.endpoint, prefix: layout.root }).write();
  for (const warning of outcome.warnings) logger.warning(warning);
  if (outcome.error !== undefined) throw outcome.error;
  if (report !== undefined && !report.ok) throw new Error(`Backup ${outcome.backupId} is complete but did NOT restore as it should: ${report.problems.join('; ')}`);
  if (retentionError !== undefined) throw new Error(`Backup ${outcome.backupId} is complete, but retention failed: ${retentionError.message}`);
}

/** The verify key must decrypt what this backup writes: its recipient must be among the recipients. */
async function checkVerifyKey(settings: BackupSettings): Promise<void> {
  const identity = settings.verify?.identity;
  if (identity === undefined || settings.encryption.scheme !== 'age') return;
  let recipient: string;
  try {
    recipient = await recipientOf(identity, 'Input verify-key');
  } catch (error: unknown) {
    throw new ConfigurationError(error instanceof Error ? error.message : String(error), { input: 'verify-key' });
  }
  if (!settings.encryption.recipients.includes(recipient)) {
    throw new ConfigurationError(`Input verify-key: its recipient ${recipient} is not among age-recipients, so it could not decrypt the backup it is to prove: add it there.`, { input: 'verify-key' });
  }
}

function setOutputs(values: { backupId: string; complete: boolean; manifestKey: string; storedBytes: number; removed: readonly string[]; verified: boolean }): void {
  core.setOutput('verified', values.verified ? 'true' : 'false');
  core.setOutput('backup-id', values.backupId);
  core.setOutput('complete', values.complete ? 'true' : 'false');
  core.setOutput('manifest-key', values.manifestKey);
  core.setOutput('stored-bytes', String(values.storedBytes));
  core.setOutput('removed', values.removed.join(','));
}

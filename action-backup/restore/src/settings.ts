import { ConfigurationError } from '@titan/action-kit/configuration-error';
import { type HostConnectionSettings, type HostTargetSettings, readHostConnection, readHostTarget } from '@titan/action-kit/host-inputs';
import { InputReader } from '@titan/action-kit/inputs';
import { readSpacesSettings, type SpacesSettings } from '@titan/action-kit/spaces-inputs';
import { BACKUP_ID_PATTERN, prefixProblem } from '@titan/backup/backup-layout';
import { SERVICE_PATTERN } from '@titan/backup/stack-container';
import { DATABASE_NAME_PATTERN } from '@titan/restore/postgres-restore';

export interface RestoreSettings extends HostConnectionSettings, HostTargetSettings {
  readonly spaces: SpacesSettings;
  readonly prefix: string;
  /** `latest` or a backup id. */
  readonly backup: string;
  readonly identity: string | undefined;
  /** undefined: derived from the backup (`<database>_restore_<date>_<time>`). */
  readonly database: string | undefined;
  readonly postgresService: string;
  readonly adminUser: string;
  readonly owner: string;
  readonly timeoutMs: number;
}

const ROLE = /^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/;

/** The one reader of the restore's inputs; `host` first. */
export function readSettings(reader = new InputReader()): RestoreSettings {
  const connection = readHostConnection(reader, { host: 'the name or address of the host to restore on', sshKey: 'the private key of the deploy user, e.g. secrets.PROD_SSH_KEY' });
  const spaces = readSpacesSettings(reader);
  const target = readHostTarget(reader);
  const prefix = reader.optional('prefix', 'titan/backups');
  const problem = prefixProblem(prefix);
  if (problem !== undefined) throw new ConfigurationError(`Input prefix ${JSON.stringify(prefix)} is not usable: ${problem}.`, { input: 'prefix' });
  const backup = reader.optional('backup', 'latest');
  if (backup !== 'latest' && !BACKUP_ID_PATTERN.test(backup)) {
    throw new ConfigurationError(`Input backup must be latest or a backup id like 20261201T021700Z-3f9a1c; got ${JSON.stringify(backup)}.`, { input: 'backup' });
  }
  const identity = reader.secret('restore-key');
  const database = reader.optional('database');
  if (database !== undefined && !DATABASE_NAME_PATTERN.test(database)) {
    throw new ConfigurationError(`Input database ${JSON.stringify(database)} is not a database name a restore creates (lower-case letters, digits and _, at most 63).`, { input: 'database' });
  }
  const postgresService = reader.optional('postgres-service', 'postgres');
  if (!SERVICE_PATTERN.test(postgresService)) throw new ConfigurationError(`Input postgres-service ${JSON.stringify(postgresService)} is not a Compose service name.`, { input: 'postgres-service' });
  const role = (input: string, fallback: string): string => {
    const value = reader.optional(input, fallback);
    if (!ROLE.test(value)) throw new ConfigurationError(`Input ${input} ${JSON.stringify(value)} is not a role name.`, { input });
    return value;
  };
  return {
    ...connection,
    ...target,
    spaces,
    prefix,
    backup,
    identity,
    database,
    postgresService,
    adminUser: role('postgres-admin-user', 'postgres'),
    owner: role('postgres-owner', 'titan'),
    timeoutMs: reader.integer('restore-timeout', 240, { min: 1, max: 24 * 60 }) * 60_000,
  };
}

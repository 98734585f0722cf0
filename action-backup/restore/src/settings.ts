import { ConfigurationError } from '@titan/action-kit/configuration-error';
import { type HostConnectionSettings, type HostTargetSettings, readHostConnection, readHostTarget } from '@titan/action-kit/host-inputs';
import { InputReader } from '@titan/action-kit/inputs';
import { readSpacesSettings, type SpacesSettings } from '@titan/action-kit/spaces-inputs';
import { BACKUP_ID_PATTERN, prefixProblem } from '@titan/backup/backup-layout';
import { SERVICE_PATTERN } from '@titan/backup/stack-container';
import { DATABASE_NAME_PATTERN } from '@titan/restore/postgres-restore';
import type { StackPart } from '@titan/restore/stack-restore';
import { runContext } from '@titan/action-kit/run-context';
import { parseNatsAddress } from '@titan/rollback/nats-address';

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
  readonly target: 'scratch' | 'stack';
  readonly parts: ReadonlySet<StackPart>;
  readonly redis: { readonly service: string; readonly dataDir: string };
  readonly nats: { readonly host: string; readonly port: number; readonly user: string; readonly password: string } | undefined;
  readonly lockTimeoutSeconds: number;
  readonly actor: string;
  readonly runUrl: string;
}

const PARTS: readonly StackPart[] = ['postgres', 'redis', 'jetstream'];
const DATA_DIR = /^\/[A-Za-z0-9._/-]+$/;
const NATS_USER_PATTERN = /^[A-Za-z0-9._@-]{1,128}$/;

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
  const targetName = reader.choice('target', ['scratch', 'stack'] as const, 'scratch');
  const parts = new Set<StackPart>();
  for (const word of reader.optional('parts', 'postgres redis jetstream').split(/[\s,]+/).filter((w) => w !== '')) {
    const part = PARTS.find((p) => p === word);
    if (part === undefined) throw new ConfigurationError(`Input parts: ${JSON.stringify(word)} is not one of ${PARTS.join(', ')}.`, { input: 'parts' });
    parts.add(part);
  }
  if (targetName === 'stack' && parts.size === 0) throw new ConfigurationError('Input parts names nothing to restore.', { input: 'parts' });
  const redisService = reader.optional('redis-service', 'redis');
  if (!SERVICE_PATTERN.test(redisService)) throw new ConfigurationError(`Input redis-service ${JSON.stringify(redisService)} is not a Compose service name.`, { input: 'redis-service' });
  const dataDir = reader.optional('redis-data-dir', '/data');
  if (!DATA_DIR.test(dataDir) || dataDir.split('/').includes('..')) throw new ConfigurationError(`Input redis-data-dir ${JSON.stringify(dataDir)} is not an absolute folder.`, { input: 'redis-data-dir' });
  const natsAddress = parseNatsAddress(reader.optional('nats-url', '127.0.0.1:4222'));
  if (typeof natsAddress === 'string') throw new ConfigurationError(`Input nats-url: ${natsAddress}.`, { input: 'nats-url' });
  const natsPassword = reader.secret('nats-password');
  const natsUser = reader.optional('nats-user');
  let nats: RestoreSettings['nats'];
  if (targetName === 'stack' && parts.has('jetstream')) {
    if (natsUser === undefined || !NATS_USER_PATTERN.test(natsUser)) {
      throw new ConfigurationError('Input required and not supplied: nats-user (a NATS user allowed to snapshot, delete and restore streams, to restore the JetStream streams; or leave jetstream out of parts)', { input: 'nats-user' });
    }
    if (natsPassword === undefined) throw new ConfigurationError('Input required and not supplied: nats-password (the password of nats-user)', { input: 'nats-password' });
    nats = { host: natsAddress.host, port: natsAddress.port, user: natsUser, password: natsPassword };
  }
  return {
    ...runContext(process.env),
    target: targetName,
    parts: targetName === 'stack' ? parts : new Set<StackPart>(['postgres']),
    redis: { service: redisService, dataDir },
    nats,
    lockTimeoutSeconds: reader.integer('lock-timeout', 300, { min: 0, max: 24 * 3600 }),
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

import { ConfigurationError } from '@titan/action-kit/configuration-error';
import { HOST_INPUT_DEFAULTS, type HostConnectionSettings, type HostTargetSettings, readHostConnection, readHostTarget } from '@titan/action-kit/host-inputs';
import { InputReader } from '@titan/action-kit/inputs';
import { prefixProblem } from '@titan/backup/backup-layout';
import { checkRecipients, type Encryption, EncryptionError } from '@titan/backup/encryption';
import type { RetentionPolicy } from '@titan/backup/retention';
import { SERVICE_PATTERN } from '@titan/backup/stack-container';
import { SNAPSHOTS_PER_VOLUME, TAG_PATTERN } from '@titan/backup/volume-snapshot';
import type { NatsAddress } from '@titan/rollback/nats-address';
import { readNatsInputs } from '@titan/action-kit/nats-inputs';
import { readSpacesSettings, type SpacesSettings } from '@titan/action-kit/spaces-inputs';

export const PARTS = ['postgres', 'redis', 'jetstream'] as const;
export type Part = (typeof PARTS)[number];

export interface BackupSettings extends HostConnectionSettings, HostTargetSettings {
  readonly spaces: SpacesSettings;
  readonly prefix: string;
  readonly parts: ReadonlySet<Part>;
  readonly encryption: Encryption;
  readonly postgres: { readonly service: string; readonly database: string; readonly user: string; readonly checksumTables: string };
  readonly redis: { readonly service: string; readonly passwordVariable: string; readonly port: number };
  readonly nats: { readonly address: NatsAddress; readonly user: string; readonly password: string | undefined; readonly streams: readonly string[] | undefined };
  readonly retention: RetentionPolicy | undefined;
  readonly partTimeoutMs: number;
  readonly verify: VerifySettings | undefined;
  readonly volumeSnapshot: VolumeSnapshotSettings | undefined;
}

export interface VolumeSnapshotSettings {
  readonly volume: string;
  readonly region: string | undefined;
  readonly keep: number;
  readonly tag: string;
  /** Masked. */
  readonly token: string;
  readonly apiUrl: string;
}

export interface VerifySettings {
  readonly where: 'runner' | 'host';
  /** With host: the role that creates and drops the throwaway database. */
  readonly adminUser: string;
  /** The verify identity (masked); undefined only with encryption none. */
  readonly identity: string | undefined;
  readonly images: { readonly postgres: string; readonly redis: string; readonly nats: string; readonly options: readonly string[] };
}

/** action.yml's defaults, repeated for runs outside a runner (which apply none). */
export const DEFAULTS = {
  ...HOST_INPUT_DEFAULTS,
  prefix: 'titan/backups',
  parts: 'postgres redis jetstream',
  encryption: 'age',
  postgresService: 'postgres',
  postgresDatabase: 'titan',
  postgresUser: 'titan',
  checksumTables: '*',
  redisService: 'redis',
  redisPasswordEnv: 'REDIS_PASSWORD',
  redisPort: 6379,
  natsUrl: '127.0.0.1:4222',
  natsUser: 'backup',
  keepDaily: 7,
  keepWeekly: 4,
  keepMonthly: 6,
  incompleteGraceHours: 24,
  partTimeoutMinutes: 360,
  verify: 'runner',
  verifyPostgresImage: 'postgres:16-alpine',
  verifyRedisImage: 'redis:7.4-alpine',
  verifyNatsImage: 'nats:2.10.24-alpine',
} as const;

const IMAGE_PATTERN = /^[a-z0-9][a-z0-9._:/@-]*$/i;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const STREAM_NAME = /^[A-Za-z0-9_-]{1,255}$/;
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/;

/** The one reader of the backup's inputs. `host` is read first: with no inputs at all, it is the input the error names. */
export function readSettings(reader = new InputReader()): BackupSettings {
  const connection = readHostConnection(reader, { host: 'the name or address of the host to back up', sshKey: 'the private key of the deploy user, e.g. secrets.PROD_SSH_KEY' });
  const spaces = readSpacesSettings(reader);
  const target = readHostTarget(reader);

  const prefix = reader.optional('prefix', DEFAULTS.prefix);
  const problem = prefixProblem(prefix);
  if (problem !== undefined) throw new ConfigurationError(`Input prefix ${JSON.stringify(prefix)} is not usable: ${problem}.`, { input: 'prefix' });

  const parts = readParts(reader.optional('parts', DEFAULTS.parts));
  const encryption = readEncryption(reader);

  const postgres = {
    service: name(reader, 'postgres-service', DEFAULTS.postgresService, SERVICE_PATTERN, 'a Compose service name'),
    database: name(reader, 'postgres-database', DEFAULTS.postgresDatabase, IDENTIFIER, 'a database name'),
    user: name(reader, 'postgres-user', DEFAULTS.postgresUser, IDENTIFIER, 'a role name'),
    checksumTables: readChecksumTables(reader.optional('checksum-tables', DEFAULTS.checksumTables)),
  };
  const redisPasswordEnv = reader.optional('redis-password-env') ?? DEFAULTS.redisPasswordEnv;
  if (redisPasswordEnv !== '' && !ENV_NAME.test(redisPasswordEnv)) {
    throw new ConfigurationError(`Input redis-password-env ${JSON.stringify(redisPasswordEnv)} is not an environment variable name.`, { input: 'redis-password-env' });
  }
  const redis = {
    service: name(reader, 'redis-service', DEFAULTS.redisService, SERVICE_PATTERN, 'a Compose service name'),
    passwordVariable: redisPasswordEnv,
    port: reader.integer('redis-port', DEFAULTS.redisPort, { min: 1, max: 65535 }),
  };

  const { address, user: natsUser } = readNatsInputs(reader, { url: DEFAULTS.natsUrl, user: DEFAULTS.natsUser });
  const natsPassword = reader.secret('nats-password');
  if (parts.has('jetstream') && natsPassword === undefined) {
    throw new ConfigurationError('Input required and not supplied: nats-password (the password of nats-user, to back up the JetStream streams; or leave jetstream out of parts)', { input: 'nats-password' });
  }
  const streamList = words(reader.optional('streams', ''));
  const bad = streamList.find((s) => !STREAM_NAME.test(s));
  if (bad !== undefined) throw new ConfigurationError(`Input streams: ${JSON.stringify(bad)} is not a JetStream stream name.`, { input: 'streams' });

  const retention = reader.boolean('retention', true)
    ? {
        daily: reader.integer('keep-daily', DEFAULTS.keepDaily, { min: 0, max: 3660 }),
        weekly: reader.integer('keep-weekly', DEFAULTS.keepWeekly, { min: 0, max: 520 }),
        monthly: reader.integer('keep-monthly', DEFAULTS.keepMonthly, { min: 0, max: 1200 }),
        incompleteGraceHours: reader.integer('incomplete-grace-hours', DEFAULTS.incompleteGraceHours, { min: 1, max: 24 * 365 }),
      }
    : undefined;

  const verify = readVerify(reader, encryption);
  const volumeSnapshot = readVolumeSnapshot(reader);

  return {
    ...connection,
    ...target,
    verify,
    volumeSnapshot,
    spaces,
    prefix,
    parts,
    encryption,
    postgres,
    redis,
    nats: { address, user: natsUser, password: natsPassword, streams: streamList.length > 0 ? streamList : undefined },
    retention,
    partTimeoutMs: reader.integer('part-timeout', DEFAULTS.partTimeoutMinutes, { min: 1, max: 24 * 60 }) * 60_000,
  };
}

const VOLUME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function readVolumeSnapshot(reader: InputReader): VolumeSnapshotSettings | undefined {
  const token = reader.secret('digitalocean-token');
  const volume = reader.optional('jetstream-volume');
  if (volume === undefined) return undefined;
  if (!VOLUME_PATTERN.test(volume)) throw new ConfigurationError(`Input jetstream-volume ${JSON.stringify(volume)} is neither a volume id nor a volume name.`, { input: 'jetstream-volume' });
  if (token === undefined) {
    throw new ConfigurationError('Input required and not supplied: digitalocean-token (a DigitalOcean API token, to snapshot jetstream-volume; or leave jetstream-volume empty)', { input: 'digitalocean-token' });
  }
  const region = reader.optional('jetstream-volume-region');
  if (region !== undefined && !/^[a-z]{3}\d$/.test(region)) throw new ConfigurationError(`Input jetstream-volume-region ${JSON.stringify(region)} is not a DigitalOcean region slug (like fra1).`, { input: 'jetstream-volume-region' });
  const tag = reader.optional('volume-snapshot-tag', 'titan-backup');
  if (!TAG_PATTERN.test(tag)) throw new ConfigurationError(`Input volume-snapshot-tag ${JSON.stringify(tag)} is not a DigitalOcean tag (letters, digits, _, : and -).`, { input: 'volume-snapshot-tag' });
  const apiUrl = reader.optional('digitalocean-api-url', 'https://api.digitalocean.com');
  if (!/^https?:\/\/[^\s/?#]+$/.test(apiUrl)) throw new ConfigurationError(`Input digitalocean-api-url ${JSON.stringify(apiUrl)} must be http(s)://HOST[:PORT].`, { input: 'digitalocean-api-url' });
  return { volume, region, keep: reader.integer('volume-snapshot-keep', 7, { min: 1, max: SNAPSHOTS_PER_VOLUME - 1 }), tag, token, apiUrl };
}

function readVerify(reader: InputReader, encryption: Encryption): VerifySettings | undefined {
  const where = reader.choice('verify', ['runner', 'host', 'off'] as const, DEFAULTS.verify);
  const identity = reader.secret('verify-key');
  if (where === 'off') return undefined;
  if (encryption.scheme === 'age' && identity === undefined) {
    throw new ConfigurationError('Input required and not supplied: verify-key (the age identity of the verify key, whose recipient is among age-recipients; or verify: off)', { input: 'verify-key' });
  }
  const image = (input: string, fallback: string): string => {
    const value = reader.optional(input, fallback);
    if (!IMAGE_PATTERN.test(value)) throw new ConfigurationError(`Input ${input} ${JSON.stringify(value)} is not an image reference.`, { input });
    return value;
  };
  const options = reader.lines('verify-docker-options');
  const bad = options.find((o) => !o.startsWith('--') || /\s/.test(o));
  if (bad !== undefined) throw new ConfigurationError(`Input verify-docker-options: ${JSON.stringify(bad)} is not one docker run option (--name=value, one per line).`, { input: 'verify-docker-options' });
  const adminUser = reader.optional('postgres-admin-user', 'postgres');
  if (!IDENTIFIER.test(adminUser)) throw new ConfigurationError(`Input postgres-admin-user ${JSON.stringify(adminUser)} is not a role name.`, { input: 'postgres-admin-user' });
  return {
    where,
    adminUser,
    identity: encryption.scheme === 'age' ? identity : undefined,
    images: {
      postgres: image('verify-postgres-image', DEFAULTS.verifyPostgresImage),
      redis: image('verify-redis-image', DEFAULTS.verifyRedisImage),
      nats: image('verify-nats-image', DEFAULTS.verifyNatsImage),
      options,
    },
  };
}

function words(text: string): string[] {
  return text.split(/[\s,]+/).filter((w) => w !== '');
}

function readParts(text: string): Set<Part> {
  const chosen = new Set<Part>();
  for (const word of words(text)) {
    const part = PARTS.find((p) => p === word);
    if (part === undefined) throw new ConfigurationError(`Input parts: ${JSON.stringify(word)} is not one of ${PARTS.join(', ')}.`, { input: 'parts' });
    chosen.add(part);
  }
  if (chosen.size === 0) throw new ConfigurationError(`Input parts names nothing to back up (choose among ${PARTS.join(', ')}).`, { input: 'parts' });
  return chosen;
}

function readEncryption(reader: InputReader): Encryption {
  const scheme = reader.choice('encryption', ['age', 'none'] as const, DEFAULTS.encryption);
  const recipients = reader.lines('age-recipients');
  if (scheme === 'none') {
    if (recipients.length > 0) throw new ConfigurationError('Input age-recipients is set but encryption is none: say encryption: age, or drop the recipients.', { input: 'age-recipients' });
    return { scheme: 'none' };
  }
  if (recipients.length === 0) {
    throw new ConfigurationError('Input required and not supplied: age-recipients (age public keys age1…, one per line; or encryption: none to store backups in the clear)', { input: 'age-recipients' });
  }
  try {
    return { scheme: 'age', recipients: checkRecipients(recipients) };
  } catch (error: unknown) {
    if (error instanceof EncryptionError) throw new ConfigurationError(`Input age-recipients: ${error.message}`, { input: 'age-recipients' });
    throw error;
  }
}

function readChecksumTables(text: string): string {
  if (text.trim() === '*') return '*';
  if (text.trim() === 'none') return '';
  const names = words(text);
  const bad = names.find((n) => !TABLE_NAME.test(n));
  if (bad !== undefined) throw new ConfigurationError(`Input checksum-tables: ${JSON.stringify(bad)} is not a table name (table or schema.table).`, { input: 'checksum-tables' });
  return names.join(',');
}

function name(reader: InputReader, input: string, fallback: string, pattern: RegExp, what: string): string {
  const value = reader.optional(input, fallback);
  if (!pattern.test(value)) throw new ConfigurationError(`Input ${input} ${JSON.stringify(value)} is not ${what}.`, { input });
  return value;
}

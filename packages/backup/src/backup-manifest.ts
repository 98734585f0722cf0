/**
 * manifest.json: what one backup holds, uploaded LAST. A backup folder without it is incomplete:
 * retention never counts it and a restore refuses it. It lists every object (key, size and sha256 of
 * the stored bytes and of the plaintext, parts, duration), the versions of the sources, the release
 * that was running, the row counts and checksums the verification compares with, the JetStream
 * streams with their message counts, the volume snapshot, and durations. No secret, no data.
 */
import type { StreamCounts } from '@titan/jetstream/stream-catalog';
import { BACKUP_ID_PATTERN } from './backup-layout.js';

export const MANIFEST_SCHEMA = 1;

export type BackupPart = 'postgres' | 'redis' | 'jetstream';

/** One object as it was stored: what the upload measured of it. */
export interface StoredObject {
  readonly key: string;
  /** Bytes stored (after encryption). */
  readonly size: number;
  readonly sha256: string;
  /** Bytes the producer wrote (before encryption). */
  readonly plainSize: number;
  readonly plainSha256: string;
  readonly parts: number;
  readonly durationMs: number;
}

export interface ManifestObject extends StoredObject {
  readonly part: BackupPart;
  /** Database, `dump`, or stream name. */
  readonly name: string;
}

export interface TableFacts {
  /** `schema.table`. */
  readonly name: string;
  readonly rows: number;
  /** Order-independent checksum of the rows (sum of their md5s), or null when not chosen. */
  readonly checksum: string | null;
}

export interface PostgresFacts {
  readonly service: string;
  readonly database: string;
  readonly user: string;
  readonly serverVersion: string;
  readonly dumpVersion: string;
  readonly tables: readonly TableFacts[];
}

export interface RedisFacts {
  readonly service: string;
  readonly version: string;
  readonly keys: number;
  /** LASTSAVE (Unix seconds) of the snapshot taken. */
  readonly lastSave: number;
}

/** A stream's name, message count, bytes, first and last sequence and consumers, as JetStream reported them. */
export type StreamFacts = StreamCounts;

export interface JetStreamFacts {
  readonly serverVersion: string;
  readonly streams: readonly StreamFacts[];
}

export interface VolumeSnapshotFacts {
  readonly volume: string;
  readonly snapshotId: string;
  readonly name: string;
  readonly sizeGigabytes: number;
  readonly tags: readonly string[];
  readonly removed: readonly string[];
}

export interface BackupManifest {
  readonly schemaVersion: 1;
  readonly backupId: string;
  readonly prefix: string;
  readonly startedAt: string;
  readonly completedAt: string;
  readonly host: string;
  readonly project: string;
  readonly release: { readonly id: string; readonly gitSha: string; readonly createdAt: string } | null;
  readonly encryption: { readonly scheme: 'age'; readonly recipients: readonly string[] } | { readonly scheme: 'none' };
  readonly objects: readonly ManifestObject[];
  readonly postgres: PostgresFacts | null;
  readonly redis: RedisFacts | null;
  readonly jetstream: JetStreamFacts | null;
  readonly volumeSnapshot: VolumeSnapshotFacts | null;
  readonly durationsMs: Readonly<Record<string, number>>;
}

export class BackupManifestError extends Error {
  override readonly name = 'BackupManifestError';
}

export function serializeBackupManifest(manifest: BackupManifest): Buffer {
  validate(manifest);
  return Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
}

/** Parses and checks manifest.json; `source` names it in errors. */
export function parseBackupManifest(bytes: Buffer | string, source = 'manifest.json'): BackupManifest {
  let value: unknown;
  try {
    value = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
  } catch (error: unknown) {
    throw new BackupManifestError(`${source} is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    validate(value);
  } catch (error: unknown) {
    throw new BackupManifestError(`${source}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return value;
}

const SHA256 = /^[0-9a-f]{64}$/;
const PARTS: readonly BackupPart[] = ['postgres', 'redis', 'jetstream'];

function validate(value: unknown): asserts value is BackupManifest {
  const m = record(value, 'the manifest');
  if (m['schemaVersion'] !== MANIFEST_SCHEMA) throw new BackupManifestError(`schemaVersion must be ${MANIFEST_SCHEMA}, got ${JSON.stringify(m['schemaVersion'])}`);
  const id = text(m, 'backupId');
  if (!BACKUP_ID_PATTERN.test(id)) throw new BackupManifestError(`backupId ${JSON.stringify(id)} is not a backup id`);
  for (const key of ['prefix', 'startedAt', 'completedAt', 'host', 'project']) text(m, key);
  if (m['release'] !== null) {
    const r = record(m['release'], 'release');
    for (const key of ['id', 'gitSha', 'createdAt']) text(r, key);
  }
  const enc = record(m['encryption'], 'encryption');
  if (enc['scheme'] === 'age') {
    const recipients = list(enc['recipients'], 'encryption.recipients');
    if (recipients.length === 0 || !recipients.every((x) => typeof x === 'string' && x.startsWith('age1'))) throw new BackupManifestError('encryption.recipients must be age1… keys');
  } else if (enc['scheme'] !== 'none') {
    throw new BackupManifestError(`encryption.scheme must be age or none, got ${JSON.stringify(enc['scheme'])}`);
  }
  const objects = list(m['objects'], 'objects');
  objects.forEach((o, i) => {
    const obj = record(o, `objects[${i}]`);
    const key = text(obj, 'key');
    if (!key.includes(`/${id}/`)) throw new BackupManifestError(`objects[${i}].key ${key} is not inside backup ${id}`);
    if (!PARTS.includes(obj['part'] as BackupPart)) throw new BackupManifestError(`objects[${i}].part must be one of ${PARTS.join(', ')}`);
    text(obj, 'name');
    for (const n of ['size', 'plainSize', 'parts', 'durationMs']) count(obj, n, `objects[${i}]`);
    for (const h of ['sha256', 'plainSha256']) if (!SHA256.test(text(obj, h))) throw new BackupManifestError(`objects[${i}].${h} is not a sha256`);
  });
  if (m['postgres'] !== null) {
    const p = record(m['postgres'], 'postgres');
    for (const key of ['service', 'database', 'user', 'serverVersion', 'dumpVersion']) text(p, key);
    list(p['tables'], 'postgres.tables').forEach((t, i) => {
      const table = record(t, `postgres.tables[${i}]`);
      text(table, 'name');
      count(table, 'rows', `postgres.tables[${i}]`);
      if (table['checksum'] !== null && typeof table['checksum'] !== 'string') throw new BackupManifestError(`postgres.tables[${i}].checksum must be a string or null`);
    });
  }
  if (m['redis'] !== null) {
    const r = record(m['redis'], 'redis');
    text(r, 'service');
    text(r, 'version');
    count(r, 'keys', 'redis');
    count(r, 'lastSave', 'redis');
  }
  if (m['jetstream'] !== null) {
    const j = record(m['jetstream'], 'jetstream');
    text(j, 'serverVersion');
    list(j['streams'], 'jetstream.streams').forEach((s, i) => {
      const stream = record(s, `jetstream.streams[${i}]`);
      text(stream, 'name');
      for (const n of ['messages', 'bytes', 'firstSeq', 'lastSeq', 'consumers']) count(stream, n, `jetstream.streams[${i}]`);
    });
  }
  if (m['volumeSnapshot'] !== null) {
    const v = record(m['volumeSnapshot'], 'volumeSnapshot');
    for (const key of ['volume', 'snapshotId', 'name']) text(v, key);
  }
  record(m['durationsMs'], 'durationsMs');
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new BackupManifestError(`${what} must be an object`);
  return value as Record<string, unknown>;
}

function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new BackupManifestError(`${what} must be a list`);
  return value;
}

function text(r: Record<string, unknown>, key: string): string {
  const value = r[key];
  if (typeof value !== 'string' || value === '') throw new BackupManifestError(`${key} must be a non-empty string`);
  return value;
}

function count(r: Record<string, unknown>, key: string, where: string): number {
  const value = r[key];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new BackupManifestError(`${where}.${key} must be a whole number ≥ 0`);
  return value;
}

/**
 * Where a backup lives in the bucket, below its prefix:
 *
 *   <prefix>/<backup id>/postgres/<database>.dump.age   pg_dump custom format, encrypted
 *   <prefix>/<backup id>/redis/dump.rdb.age             the RDB snapshot, encrypted
 *   <prefix>/<backup id>/jetstream/<stream>.snapshot.age  one JetStream stream snapshot each
 *   <prefix>/<backup id>/manifest.json                  uploaded LAST: the backup is complete only with it
 *   <prefix>/<backup id>/verify.json                    the result of the restore that proved it
 *
 * (`.age` only when encrypted.) A backup id is the UTC time it started and a random suffix,
 * `20261201T020000Z-3f9a1c`: ids sort in time order, and the time is what retention reads.
 */
import { randomBytes } from 'node:crypto';

export const BACKUP_ID_PATTERN = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-[0-9a-f]{6}$/;
export const MANIFEST_NAME = 'manifest.json';
export const VERIFY_NAME = 'verify.json';

/** A prefix: segments of letters, digits, `.`, `_`, `-`, separated by `/`; no leading or trailing `/`. */
const PREFIX_SEGMENT = /^[A-Za-z0-9._-]+$/;

export function prefixProblem(prefix: string): string | undefined {
  if (prefix === '') return 'it is empty (a backup always lives below a prefix, e.g. titan/production)';
  if (prefix.length > 200) return 'it is longer than 200 characters';
  const segments = prefix.split('/');
  if (segments.some((s) => s === '')) return 'it must not start or end with "/" or contain "//"';
  if (segments.some((s) => s === '.' || s === '..')) return 'it must not contain "." or ".." segments';
  if (!segments.every((s) => PREFIX_SEGMENT.test(s))) return 'its segments may hold only letters, digits, ".", "_" and "-"';
  return undefined;
}

export function newBackupId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** When the backup started, read from its id (undefined when `id` is not a backup id). */
export function backupTime(id: string): Date | undefined {
  const m = BACKUP_ID_PATTERN.exec(id);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s] = m;
  const time = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)));
  return Number.isNaN(time.getTime()) ? undefined : time;
}

/** A stream or database name as it may appear in a key. */
const NAME_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}$/;

export class BackupLayout {
  readonly prefix: string;

  constructor(prefix: string) {
    const problem = prefixProblem(prefix);
    if (problem !== undefined) throw new Error(`The backup prefix ${JSON.stringify(prefix)} is not usable: ${problem}.`);
    this.prefix = prefix;
  }

  /** Every key of every backup starts with this (the prefix and a slash). */
  get root(): string {
    return `${this.prefix}/`;
  }

  dir(id: string): string {
    if (!BACKUP_ID_PATTERN.test(id)) throw new Error(`${JSON.stringify(id)} is not a backup id (like 20261201T020000Z-3f9a1c).`);
    return `${this.root}${id}/`;
  }

  manifestKey(id: string): string {
    return `${this.dir(id)}${MANIFEST_NAME}`;
  }

  verifyKey(id: string): string {
    return `${this.dir(id)}${VERIFY_NAME}`;
  }

  objectKey(id: string, part: 'postgres' | 'redis' | 'jetstream', name: string, encrypted: boolean): string {
    if (!NAME_PATTERN.test(name)) throw new Error(`${JSON.stringify(name)} cannot be part of an object key.`);
    const file = part === 'postgres' ? `${name}.dump` : part === 'redis' ? `${name}.rdb` : `${name}.snapshot`;
    return `${this.dir(id)}${part}/${file}${encrypted ? '.age' : ''}`;
  }

  /** The backup id a key belongs to, or undefined for a key that is not inside a backup folder. */
  idOf(key: string): string | undefined {
    if (!key.startsWith(this.root)) return undefined;
    const id = key.slice(this.root.length).split('/')[0] ?? '';
    return BACKUP_ID_PATTERN.test(id) && key.length > this.root.length + id.length + 1 ? id : undefined;
  }
}

/**
 * The proof of a Postgres backup away from the trading host: a throwaway Postgres container on the
 * runner (its own initdb in the container, nothing mounted from anywhere but what the caller's
 * options say), the dump read back from Spaces, decrypted as it streams into pg_restore, its sha256
 * checked, then the row count of every table and the checksum of the chosen ones compared with what
 * the backup recorded at the source, in the dump's own snapshot.
 */
import { Readable } from 'node:stream';
import type { BackupManifest, ManifestObject, TableFacts } from '@titan/backup/backup-manifest';
import { parseTableFacts, TABLE_FACTS_QUERY, TABLE_FACTS_SETTINGS } from '@titan/backup/table-facts';
import type { Logger } from '@titan/log/logger';
import type { ObjectStore } from '@titan/spaces/object-store';
import { explain, openObject } from './backup-object.js';
import { ScratchContainer, ScratchError } from './scratch-container.js';

export interface TableCheck {
  readonly name: string;
  readonly expectedRows: number;
  readonly rows: number | null;
  readonly expectedChecksum: string | null;
  readonly checksum: string | null;
  readonly ok: boolean;
}

export interface PostgresProof {
  readonly ok: boolean;
  readonly tables: readonly TableCheck[];
  readonly problems: readonly string[];
  readonly restoreMs: number;
}

export interface ScratchImage {
  readonly image: string;
  readonly options: readonly string[];
}

const SOCKET_DIR = '/tmp/titan-verify';

const SCRATCH_POSTGRES = `set -eu
export PGDATA=${SOCKET_DIR}/pgdata
mkdir -p ${SOCKET_DIR}
initdb --pgdata="$PGDATA" --username=postgres --auth=trust --encoding=UTF8 --locale=C >/dev/null
exec postgres -D "$PGDATA" -c listen_addresses= -c unix_socket_directories=${SOCKET_DIR} -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_wal_size=4GB
`;

/** Compares restored facts with the recorded ones, table by table. */
export function compareTables(expected: readonly TableFacts[], actual: readonly TableFacts[]): TableCheck[] {
  const found = new Map(actual.map((t) => [t.name, t]));
  return expected.map((e) => {
    const a = found.get(e.name);
    const rows = a?.rows ?? null;
    const checksum = a?.checksum ?? null;
    return { name: e.name, expectedRows: e.rows, rows, expectedChecksum: e.checksum, checksum, ok: rows === e.rows && (e.checksum === null || checksum === e.checksum) };
  });
}

export function checksumSpec(expected: readonly TableFacts[]): string {
  const chosen = expected.filter((t) => t.checksum !== null).map((t) => t.name);
  if (chosen.length === expected.length && chosen.length > 0) return '*';
  return chosen.join(',');
}

export async function provePostgresOnRunner(
  store: ObjectStore,
  manifest: BackupManifest,
  object: ManifestObject,
  identity: string | undefined,
  scratch: ScratchImage,
  logger: Logger,
): Promise<PostgresProof> {
  const facts = manifest.postgres;
  if (facts === null) throw new Error('The manifest has no Postgres facts to compare with.');
  const started = performance.now();
  const container = await ScratchContainer.start({ role: 'postgres', image: scratch.image, options: scratch.options, user: 'postgres', entrypoint: 'sh', args: ['-c', SCRATCH_POSTGRES] });
  try {
    await waitReady(container);
    const created = await container.exec(['psql', '-X', '-q', '-h', SOCKET_DIR, '-U', 'postgres', '-d', 'postgres', '-c', 'CREATE DATABASE verify']);
    if (created.status !== 0) throw new ScratchError(`The throwaway Postgres refused CREATE DATABASE: ${created.stderr.trim()}`);
    logger.info(`Restoring ${object.key} into a throwaway Postgres (${scratch.image}) on the runner.`);
    const opened = await openObject(store, object, manifest.encryption, identity);
    const restore = await container.exec(['pg_restore', '-h', SOCKET_DIR, '-U', 'postgres', '-d', 'verify', '--no-owner', '--no-privileges', '--exit-on-error'], { stdin: opened.plain });
    if (restore.status !== 0) {
      const damage = await explain(store, object);
      throw damage ?? new ScratchError(`pg_restore of ${object.key} failed (exit ${restore.status}): ${restore.stderr.trim().split('\n').slice(-5).join(' / ')}`);
    }
    opened.check();
    const restoreMs = Math.round(performance.now() - started);
    const sql = `${TABLE_FACTS_SETTINGS}${TABLE_FACTS_QUERY}`;
    const counted = await container.exec(['psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-v', `tables=${checksumSpec(facts.tables)}`, '-h', SOCKET_DIR, '-U', 'postgres', '-d', 'verify'], { stdin: Readable.from([sql]) });
    if (counted.status !== 0) throw new ScratchError(`Counting the restored tables failed: ${counted.stderr.trim()}`);
    const tables = compareTables(facts.tables, parseTableFacts(counted.stdout.split('\n')));
    const problems = tables.filter((t) => !t.ok).map((t) => `${t.name}: ${t.rows ?? 'missing'} rows (expected ${t.expectedRows})${t.expectedChecksum !== null && t.checksum !== t.expectedChecksum ? `, checksum ${t.checksum ?? 'none'} (expected ${t.expectedChecksum})` : ''}`);
    return { ok: problems.length === 0, tables, problems, restoreMs };
  } finally {
    await container.remove();
  }
}

async function waitReady(container: ScratchContainer): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const ready = await container.exec(['pg_isready', '-q', '-h', SOCKET_DIR, '-U', 'postgres']);
    if (ready.status === 0) return;
    if (Date.now() > deadline) throw new ScratchError(`The throwaway Postgres did not become ready within 120 s: ${await container.logs()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

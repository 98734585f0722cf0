import { createHash } from 'node:crypto';
import { readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DisplayPaths } from '@titan/gatekeeper/display-path';
import { checkMigrations } from '@titan/gatekeeper/migrations';
import type { PreviousManifest } from '@titan/gatekeeper/previous-manifest';
import { parsePreviousManifest } from '@titan/gatekeeper/previous-manifest';
import { copyExample, textMatching } from './release-fixture.js';

describe('migrations on copies of examples/titan', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const migrations = () => join(dir, 'migrations');
  const run = (previous?: PreviousManifest) => checkMigrations({ dir: migrations(), paths: new DisplayPaths(dir), previous });

  /** The manifest of the release as it is now: what a previous signed release would have listed. */
  async function manifestOfCurrentRelease(): Promise<PreviousManifest> {
    const names = (await readdir(migrations())).sort();
    const files = await Promise.all(
      names.map(async (name) => {
        const bytes = await readFile(join(migrations(), name));
        return { path: `migrations/${name}`, sha256: createHash('sha256').update(bytes).digest('hex'), size: (await stat(join(migrations(), name))).size };
      }),
    );
    return parsePreviousManifest(JSON.stringify({ files: [{ path: 'config/policy.json', sha256: 'a'.repeat(64), size: 1 }, ...files] }), 'manifest.json');
  }

  beforeEach(async () => {
    ({ dir, cleanup } = await copyExample());
  });
  afterEach(async () => cleanup());

  it('the sample migrations pass, also against a manifest of themselves', async () => {
    expect(await run()).toEqual([]);
    expect(await run(await manifestOfCurrentRelease())).toEqual([]);
  });

  it('a gap in the numbering names the file after the gap and the missing number', async () => {
    await rename(join(migrations(), '0003_risk_and_audit.sql'), join(migrations(), '0004_risk_and_audit.sql'));
    expect(await run()).toEqual([
      expect.objectContaining({ check: 'migrations', severity: 'error', file: 'migrations/0004_risk_and_audit.sql', line: null, message: '0004_risk_and_audit.sql follows 0002_fills_and_positions.sql: 0003 is missing' }),
    ]);
  });

  it('numbering that does not start at 0001', async () => {
    await rm(join(migrations(), '0001_accounts_and_orders.sql'));
    const findings = await run();
    expect(findings[0]).toMatchObject({ file: 'migrations/0002_fills_and_positions.sql', message: 'The first migration is 0002_fills_and_positions.sql; numbering starts at 0001' });
  });

  it('a duplicate number', async () => {
    await writeFile(join(migrations(), '0002_zz_extra.sql'), 'CREATE TABLE extra (id int);\n');
    expect(await run()).toEqual([
      expect.objectContaining({ file: 'migrations/0002_zz_extra.sql', line: null, message: '0002_zz_extra.sql has the same number as 0002_fills_and_positions.sql' }),
    ]);
  });

  it('a file that is not a migration', async () => {
    await writeFile(join(migrations(), 'notes.txt'), 'todo\n');
    await writeFile(join(migrations(), '4_short.sql'), 'SELECT 1;\n');
    expect((await run()).map((f) => [f.file, f.message])).toEqual([
      ['migrations/4_short.sql', '4_short.sql is not a migration named NNNN_name.sql'],
      ['migrations/notes.txt', 'notes.txt is not a migration named NNNN_name.sql'],
    ]);
  });

  it('a transaction statement inside a migration, at its line; BEGIN inside a function body is fine', async () => {
    const text = [
      '-- 0004: with its own transaction',
      'CREATE FUNCTION touch() RETURNS trigger AS $$',
      'BEGIN',
      '  NEW.updated_at = now();',
      '  RETURN NEW;',
      'END;',
      '$$ LANGUAGE plpgsql;',
      'BEGIN;',
      'CREATE TABLE t (id int);',
      'commit;',
      '\\q',
    ].join('\n');
    await writeFile(join(migrations(), '0004_with_transaction.sql'), text);
    expect((await run()).map((f) => [f.file, f.line, f.message.replace(/:.*/, '')])).toEqual([
      ['migrations/0004_with_transaction.sql', 8, '0004_with_transaction.sql controls its own transaction (BEGIN)'],
      ['migrations/0004_with_transaction.sql', 10, '0004_with_transaction.sql controls its own transaction (commit)'],
      ['migrations/0004_with_transaction.sql', 11, '0004_with_transaction.sql holds the psql meta-command \\q, which psql runs instead of sending it to the database (\\q would end psql before the history row, \\! runs a shell)'],
    ]);
  });

  it('a migration edited after it was released (sha256 against the previous manifest)', async () => {
    const previous = await manifestOfCurrentRelease();
    const path = join(migrations(), '0002_fills_and_positions.sql');
    await writeFile(path, `${await readFile(path, 'utf8')}\nALTER TABLE fill ADD COLUMN note text;\n`);
    expect(await run(previous)).toEqual([
      expect.objectContaining({
        check: 'migrations',
        severity: 'error',
        file: 'migrations/0002_fills_and_positions.sql',
        line: null,
        message: textMatching(/^0002_fills_and_positions\.sql was edited after it was released \(sha256 [0-9a-f]{12}… differs from the previous manifest's [0-9a-f]{12}…\)$/),
      }),
    ]);
  });

  it('a released migration that is now missing, and a new one numbered before a released one', async () => {
    const previous = await manifestOfCurrentRelease();
    await rm(join(migrations(), '0003_risk_and_audit.sql'));
    await writeFile(join(migrations(), '0003_other.sql'), 'SELECT 1;\n');
    expect((await run(previous)).map((f) => [f.file, f.message])).toEqual([
      ['migrations/0003_risk_and_audit.sql', '0003_risk_and_audit.sql was released (previous manifest: migrations/0003_risk_and_audit.sql) and is now missing'],
      ['migrations/0003_other.sql', '0003_other.sql is new but numbered before a migration already released (up to 0003), so hosts that ran the later ones would skip it'],
    ]);
  });

  it('a malformed previous manifest is refused with what is wrong', () => {
    expect(() => parsePreviousManifest('{"files":[{"path":"migrations/0001_a.sql"}]}', 'm.json')).toThrow('m.json: files[0] needs a path and a sha256 (64 lowercase hex digits)');
    expect(() => parsePreviousManifest('{', 'm.json')).toThrow(/^m\.json: not JSON/);
    expect(() => parsePreviousManifest('{}', 'm.json')).toThrow('m.json: has no files list');
  });
});

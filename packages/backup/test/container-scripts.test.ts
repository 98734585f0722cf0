/**
 * The shell the backup runs inside the stack's containers: POSIX sh (busybox ash in alpine images,
 * dash here), set -eu, shellcheck-clean; and the parsers of what it reports.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDumpFacts, PG_DUMP_SCRIPT } from '../src/postgres-dump.js';
import { parseRedisFacts, REDIS_SNAPSHOT_SCRIPT } from '../src/redis-snapshot.js';
import { CONTAINER_WORK_SCRIPT, MarkedLines } from '../src/container-work.js';

const dir = mkdtempSync(join(tmpdir(), 'titan-backup-scripts-'));

describe('container scripts', () => {
  it('has shellcheck on this machine', () => {
    expect(execFileSync('shellcheck', ['--version'], { encoding: 'utf8' })).toContain('ShellCheck');
  });

  for (const [name, text] of Object.entries({ PG_DUMP_SCRIPT, REDIS_SNAPSHOT_SCRIPT, CONTAINER_WORK_SCRIPT })) {
    it(`${name} is POSIX sh, set -eu, shellcheck-clean`, () => {
      expect(text.startsWith('set -eu\n')).toBe(true);
      const file = join(dir, `${name}.sh`);
      writeFileSync(file, `#!/bin/sh\n${text}`);
      const check = spawnSync('shellcheck', ['-s', 'sh', '-S', 'style', file], { encoding: 'utf8' });
      expect(`${check.stdout}${check.stderr}`).toBe('');
      expect(spawnSync('dash', ['-n', file], { encoding: 'utf8' }).stderr).toBe('');
      expect(spawnSync('busybox', ['sh', '-n', file], { encoding: 'utf8' }).stderr).toBe('');
    });
  }

  it('reads the facts pg_dump and the Redis snapshot report', () => {
    const container = { service: 'postgres', id: 'x'.repeat(64) };
    const hex = (s: string): string => Buffer.from(s).toString('hex');
    const facts = parseDumpFacts(
      new MarkedLines([
        'titan-backup-pg: server 15.18 (Debian 15.18-0+deb12u1)',
        'titan-backup-pg: dump pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)',
        `titan-backup-pg-table: ${hex('public.trade_order')}|450000|123456789`,
        `titan-backup-pg-table: ${hex('public.fill')}|0|`,
      ]),
      { container, database: 'titan', user: 'titan', checksumTables: 'trade_order' },
    );
    expect(facts.serverVersion).toBe('15.18 (Debian 15.18-0+deb12u1)');
    expect(facts.tables).toEqual([
      { name: 'public.fill', rows: 0, checksum: null },
      { name: 'public.trade_order', rows: 450000, checksum: '123456789' },
    ]);
    expect(() => parseDumpFacts(new MarkedLines([]), { container, database: 'titan', user: 'titan', checksumTables: '' })).toThrow(/without reporting/);
    expect(parseRedisFacts(new MarkedLines(['titan-backup-redis: version 7.0.15', 'titan-backup-redis: lastsave 1764590000', 'titan-backup-redis: keys 5000']), { container: { ...container, service: 'redis' }, passwordVariable: 'REDIS_PASSWORD', port: 6379 })).toEqual({
      service: 'redis',
      version: '7.0.15',
      keys: 5000,
      lastSave: 1764590000,
    });
  });
});

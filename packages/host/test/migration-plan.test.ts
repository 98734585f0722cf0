import { readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeDrift, planMigrations, releaseMigrations } from '@titan/host/migration-plan';
import type { ReleaseManifest } from '@titan/release/manifest';

const MIGRATIONS = join(import.meta.dirname, '../../../examples/titan/migrations');
const files = readdirSync(MIGRATIONS)
  .sort()
  .map((name) => ({ path: `migrations/${name}`, sha256: createHash('sha256').update(readFileSync(join(MIGRATIONS, name))).digest('hex'), size: 1 }));
const manifest = { files: [{ path: 'config/policy.json', sha256: '0'.repeat(64), size: 1 }, ...files] } as unknown as ReleaseManifest;

describe('migrations of a release', () => {
  it('are the numbered .sql files of migrations/, in order', () => {
    expect(releaseMigrations(manifest).map((m) => m.file)).toEqual(['0001_accounts_and_orders.sql', '0002_fills_and_positions.sql', '0003_risk_and_audit.sql']);
  });

  it('pending are those not applied yet; none drift when the applied ones are unchanged', () => {
    const release = releaseMigrations(manifest);
    const first = release[0];
    if (first === undefined) throw new Error('no migration');
    const plan = planMigrations([{ file: first.file, sha256: first.sha256 }], release);
    expect(plan.pending.map((m) => m.file)).toEqual(['0002_fills_and_positions.sql', '0003_risk_and_audit.sql']);
    expect(plan.drift).toEqual([]);
    expect(plan.alreadyApplied).toBe(1);
  });

  it('an applied migration whose file changed, or that the release lost, is drift', () => {
    const release = releaseMigrations(manifest);
    const plan = planMigrations(
      [
        { file: '0001_accounts_and_orders.sql', sha256: 'f'.repeat(64) },
        { file: '0000_gone.sql', sha256: 'e'.repeat(64) },
      ],
      release,
    );
    expect(plan.drift.map((d) => d.file)).toEqual(['0001_accounts_and_orders.sql', '0000_gone.sql']);
    expect(describeDrift(plan.drift)).toContain('0001_accounts_and_orders.sql was applied with sha256 ffffffffffff');
    expect(describeDrift(plan.drift)).toContain('0000_gone.sql was applied (sha256 eeeeeeeeeeee…) but the release no longer ships it');
  });
});

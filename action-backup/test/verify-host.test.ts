/**
 * action-backup with `verify: host`: the Postgres proof in a throwaway database of the stack's own
 * Postgres (the runner needs no Docker for it), compared table by table, and dropped again.
 */
import * as age from 'age-encryption';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObjectStore } from '@titan/spaces/object-store';
import { type SpacesPeer, startSpacesPeer } from '@titan/test-host/spaces-peer';
import { ensureStack, psql, runBackup, SEED } from './support/backup-stack.js';
import { spacesInputs, storeOf } from './support/spaces-check.js';

const PREFIX = 'titan/verify-host-tests';
let peer: SpacesPeer;
let store: ObjectStore;

beforeAll(async () => {
  await ensureStack();
  peer = await startSpacesPeer();
  store = storeOf(peer);
}, 400_000);
afterAll(async () => peer.close());

describe('action-backup, verify: host', () => {
  it('proves the dump in a throwaway database beside the stack\'s own, then drops it', async () => {
    const identity = await age.generateIdentity();
    const run = await runBackup({
      ...spacesInputs(peer, PREFIX),
      'age-recipients': await age.identityToRecipient(identity),
      'verify-key': identity,
      verify: 'host',
      parts: 'postgres',
      retention: 'false',
    });
    expect(run.status, run.log).toBe(0);
    expect(run.outputs['verified']).toBe('true');
    const id = run.outputs['backup-id'] ?? '';
    const report = JSON.parse((await store.getBytes(`${PREFIX}/${id}/verify.json`)).toString()) as { where: string; ok: boolean; postgres: { tables: { name: string; rows: number; ok: boolean }[] } };
    expect(report).toMatchObject({ where: 'host', ok: true });
    expect(report.postgres.tables.find((t) => t.name === 'public.trade_order')).toMatchObject({ rows: SEED.orders, ok: true });
    expect(run.summary).toContain('host (a throwaway database, dropped again)');
    expect(psql("SELECT count(*) FROM pg_database WHERE datname LIKE 'titan\\_verify\\_%'")).toBe('0');
  });
});

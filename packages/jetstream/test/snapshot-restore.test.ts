/**
 * Snapshot and restore against real nats-servers: three streams (one with a durable consumer) on a
 * source server whose backup user has exactly the permissions examples/titan gives it, snapshotted,
 * restored into a second server, and read back message by message.
 */
import { PassThrough, Readable } from 'node:stream';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServer, startNatsServer } from '@titan/test-host/nats-server';
import { readEnvelope } from '../src/snapshot-envelope.js';
import { connectNats, listStreams, streamManager } from '../src/stream-catalog.js';
import { restoreStream } from '../src/stream-restore.js';
import { snapshotStream } from '../src/stream-snapshot.js';

// The backup user's permissions as examples/titan/config/nats.conf grants them.
const ACCOUNTS = `accounts {
  TITAN {
    jetstream: enabled
    users: [
      { user: brain, password: brain-secret }
      { user: backup, password: backup-secret, permissions: {
          publish: { allow: ["$JS.API.INFO", "$JS.API.STREAM.NAMES", "$JS.API.STREAM.LIST", "$JS.API.STREAM.INFO.>", "$JS.API.STREAM.SNAPSHOT.>", "$JS.SNAPSHOT.ACK.>"] }
          subscribe: { allow: ["_INBOX.>"] } } }
    ]
  }
}`;

let source: NatsServer;
let target: NatsServer;
let writer: NatsConnection;

beforeAll(async () => {
  [source, target] = await Promise.all([startNatsServer(ACCOUNTS), startNatsServer()]);
  writer = await connect({ servers: source.servers, user: 'brain', pass: 'brain-secret' });
  const jsm = await jetstreamManager(writer);
  const js = jetstream(writer);
  for (const [name, count] of [['ORDERS', 500], ['FILLS', 1200], ['SIGNALS', 3]] as const) {
    await jsm.streams.add({ name, subjects: [`titan.${name.toLowerCase()}.>`] });
    for (let i = 0; i < count; i++) await js.publish(`titan.${name.toLowerCase()}.x`, JSON.stringify({ i, pad: 'x'.repeat(200) }));
  }
  await jsm.consumers.add('ORDERS', { durable_name: 'execution', ack_policy: 'explicit' });
});
afterAll(async () => {
  await writer.close();
  await Promise.all([source.stop(), target.stop()]);
});

async function snapshotToBuffer(nc: NatsConnection, stream: string): Promise<Buffer> {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c));
  await snapshotStream(nc, stream, sink, { chunkSize: 16 * 1024 });
  return Buffer.concat(chunks);
}

describe('JetStream snapshot and restore', () => {
  it('the backup user lists the streams and snapshots each; another server restores them with the same messages', async () => {
    const nc = await connectNats({ servers: source.servers, user: 'backup', password: 'backup-secret', name: 'test', timeoutMs: 5000, where: 'the source' });
    const streams = await listStreams(await streamManager(nc, 'the source'));
    expect(streams.map((s) => [s.name, s.messages])).toEqual([['FILLS', 1200], ['ORDERS', 500], ['SIGNALS', 3]]);
    const snapshots = new Map<string, Buffer>();
    for (const s of streams) snapshots.set(s.name, await snapshotToBuffer(nc, s.name));
    await nc.close();

    const restorer = await connect({ servers: target.servers });
    for (const [name, bytes] of snapshots) {
      const { header, body } = await readEnvelope(Readable.from([bytes.subarray(0, 100), bytes.subarray(100)]));
      expect(header.stream).toBe(name);
      const restored = await restoreStream(restorer, header, body);
      expect(restored.messages).toBe(streams.find((s) => s.name === name)?.messages);
    }
    const jsm = await jetstreamManager(restorer);
    const orders = await jsm.streams.info('ORDERS');
    expect(orders.state.messages).toBe(500);
    expect(orders.state.consumer_count).toBe(1);
    const message = await jsm.streams.getMessage('FILLS', { seq: 777 });
    expect((message?.json() as { i: number }).i).toBe(776);
    await restorer.close();
  });

  it('a stream that does not exist is named in the error', async () => {
    const nc = await connectNats({ servers: source.servers, user: 'backup', password: 'backup-secret', name: 'test', timeoutMs: 5000, where: 'the source' });
    await expect(snapshotStream(nc, 'NOPE', new PassThrough())).rejects.toThrow(/NATS refused the snapshot of stream NOPE: stream not found/);
    await nc.close();
  });

  it('a wrong password is reported as the credentials, without the password', async () => {
    const error = await connectNats({ servers: source.servers, user: 'backup', password: 'not-the-password', name: 'test', timeoutMs: 5000, where: 'NATS on the host' }).catch((e: unknown) => e);
    expect(String(error)).toMatch(/NATS on the host refused user backup .*check nats-user and nats-password/);
    expect(String(error)).not.toContain('not-the-password');
  });

  it('a restore whose check fails before the commit leaves no stream behind', async () => {
    const nc = await connect({ servers: source.servers, user: 'brain', pass: 'brain-secret' });
    const bytes = await snapshotToBuffer(nc, 'SIGNALS');
    await nc.close();
    const restorer = await connect({ servers: target.servers });
    const jsm = await jetstreamManager(restorer);
    await jsm.streams.delete('SIGNALS');
    const { header, body } = await readEnvelope(Readable.from([bytes]));
    await expect(
      restoreStream(restorer, header, body, {
        beforeCommit: () => Promise.reject(new Error('sha256 does not match the manifest')),
      }),
    ).rejects.toThrow('sha256 does not match the manifest');
    const names: string[] = [];
    for await (const n of jsm.streams.names()) names.push(n);
    expect(names).not.toContain('SIGNALS');
    await restorer.close();
  });
});

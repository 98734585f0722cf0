/**
 * The proofs of the Redis and JetStream parts of a backup, on the runner in throwaway containers:
 *
 *  - Redis: the RDB read back from Spaces and decrypted is piped into `redis-check-rdb /dev/stdin`
 *    (nothing written anywhere); it must say the RDB is OK, and hold the key count the backup saw;
 *  - JetStream: a throwaway nats-server (JetStream on, its port published on the runner's loopback);
 *    every stream snapshot read back is restored into it through the restore API, committed only
 *    once its sha256 checked, and its message count, last sequence and consumers compared with the
 *    manifest.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { BackupManifest, ManifestObject } from '@titan/backup/backup-manifest';
import { connectNats } from '@titan/jetstream/stream-catalog';
import { restoreStream } from '@titan/jetstream/stream-restore';
import { readEnvelope } from '@titan/jetstream/snapshot-envelope';
import type { Logger } from '@titan/log/logger';
import type { ObjectStore } from '@titan/spaces/object-store';
import { explain, openObject } from './backup-object.js';
import type { ScratchImage } from './postgres-proof.js';
import { ScratchContainer, ScratchError } from './scratch-container.js';

export interface RedisProof {
  readonly ok: boolean;
  readonly expectedKeys: number;
  readonly keys: number | null;
  readonly problems: readonly string[];
}

export interface StreamCheck {
  readonly name: string;
  readonly expectedMessages: number;
  readonly messages: number | null;
  readonly expectedLastSeq: number;
  readonly lastSeq: number | null;
  readonly consumers: number | null;
  readonly ok: boolean;
}

export interface JetStreamProof {
  readonly ok: boolean;
  readonly streams: readonly StreamCheck[];
  readonly problems: readonly string[];
}

export async function proveRedisOnRunner(store: ObjectStore, manifest: BackupManifest, object: ManifestObject, identity: string | undefined, scratch: ScratchImage, logger: Logger): Promise<RedisProof> {
  const expected = manifest.redis?.keys ?? 0;
  const container = await ScratchContainer.start({ role: 'redis', image: scratch.image, options: scratch.options, entrypoint: 'sleep', args: ['3600'] });
  try {
    logger.info(`Checking ${object.key} with redis-check-rdb in a throwaway container (${scratch.image}) on the runner.`);
    const opened = await openObject(store, object, manifest.encryption, identity);
    const check = await container.exec(['redis-check-rdb', '/dev/stdin'], { stdin: opened.plain });
    const output = `${check.stdout}\n${check.stderr}`;
    if (check.status !== 0 || !output.includes('RDB looks OK')) {
      const damage = await explain(store, object);
      throw damage ?? new ScratchError(`redis-check-rdb rejects ${object.key} (exit ${check.status}): ${output.trim().split('\n').slice(-4).join(' / ')}`);
    }
    opened.check();
    const match = /\[info\] (\d+) keys read/.exec(output);
    const keys = match === null ? null : Number(match[1]);
    const problems = keys === expected ? [] : [`the RDB holds ${keys ?? 'an unknown number of'} keys, the backup recorded ${expected}`];
    return { ok: problems.length === 0, expectedKeys: expected, keys, problems };
  } finally {
    await container.remove();
  }
}

export async function proveJetStreamOnRunner(store: ObjectStore, manifest: BackupManifest, objects: readonly ManifestObject[], identity: string | undefined, scratch: ScratchImage, logger: Logger): Promise<JetStreamProof> {
  const container = await ScratchContainer.start({
    role: 'nats',
    image: scratch.image,
    options: scratch.options,
    entrypoint: 'nats-server',
    args: ['-js', '-sd', '/tmp/titan-verify-js', '-a', '0.0.0.0', '-p', '4222'],
    publish: [4222],
  });
  let nc: NatsConnection | undefined;
  try {
    const port = await container.publishedPort(4222);
    nc = await connectWithin(`127.0.0.1:${port}`, 60_000, container);
    const streams: StreamCheck[] = [];
    for (const object of objects) {
      const expected = manifest.jetstream?.streams.find((s) => s.name === object.name);
      logger.info(`Restoring stream ${object.name} from ${object.key} into a throwaway NATS (${scratch.image}) on the runner.`);
      const opened = await openObject(store, object, manifest.encryption, identity);
      let restored;
      try {
        const { header, body } = await readEnvelope(opened.plain);
        restored = await restoreStream(nc, header, body, { beforeCommit: () => Promise.resolve(opened.check()) });
      } catch (error: unknown) {
        throw (await explain(store, object)) ?? error;
      }
      const ok = expected !== undefined && restored.messages === expected.messages && restored.lastSeq === expected.lastSeq && restored.consumers === expected.consumers;
      streams.push({
        name: object.name,
        expectedMessages: expected?.messages ?? 0,
        messages: restored.messages,
        expectedLastSeq: expected?.lastSeq ?? 0,
        lastSeq: restored.lastSeq,
        consumers: restored.consumers,
        ok,
      });
    }
    const problems = streams.filter((s) => !s.ok).map((s) => `stream ${s.name}: ${s.messages ?? '?'} messages up to ${s.lastSeq ?? '?'} (expected ${s.expectedMessages} up to ${s.expectedLastSeq})`);
    return { ok: problems.length === 0, streams, problems };
  } finally {
    await nc?.close().catch(() => undefined);
    await container.remove();
  }
}

async function connectWithin(servers: string, ms: number, container: ScratchContainer): Promise<NatsConnection> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await connectNats({ servers, name: 'titan-verify', timeoutMs: 2000, where: 'the throwaway NATS on the runner' });
    } catch (error: unknown) {
      if (Date.now() > deadline) throw new ScratchError(`The throwaway NATS did not accept a connection within ${Math.round(ms / 1000)} s (${error instanceof Error ? error.message : String(error)}): ${await container.logs()}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

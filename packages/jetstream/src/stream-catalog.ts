/**
 * The streams of a JetStream account (@nats-io/jetstream's manager): names, message counts and
 * sizes, to choose what to back up and to compare a restore with; and connecting to NATS with a
 * user and password, with errors that say whether the server, the credentials or JetStream is the
 * problem (never the password).
 */
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { JetStreamBackupError } from './jetstream-error.js';

/** What a stream holds, as the JetStream API reports its state: what a backup records and a restore compares. */
export interface StreamCounts {
  readonly name: string;
  readonly messages: number;
  readonly bytes: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly consumers: number;
}

export interface StreamSummary extends StreamCounts {
  readonly subjects: readonly string[];
}

/** The `state` of a stream as the JetStream API sends it (stream info, snapshot header, restore answer). */
export interface StreamStateFields {
  readonly messages?: unknown;
  readonly bytes?: unknown;
  readonly first_seq?: unknown;
  readonly last_seq?: unknown;
  readonly consumer_count?: unknown;
}

/** The counts of stream `name` from its API state; a field that is not a count reads as 0. */
export function streamCounts(name: string, state: StreamStateFields): StreamCounts {
  return {
    name,
    messages: count(state.messages),
    bytes: count(state.bytes),
    firstSeq: count(state.first_seq),
    lastSeq: count(state.last_seq),
    consumers: count(state.consumer_count),
  };
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : 0;
}

export interface NatsLogin {
  /** `127.0.0.1:PORT`: a local forward through the SSH connection, or a scratch server. */
  readonly servers: string;
  readonly user?: string;
  /** Never logged. */
  readonly password?: string;
  readonly name: string;
  readonly timeoutMs: number;
  /** How the server is called in errors (`NATS at 127.0.0.1:4222 on the host`). */
  readonly where: string;
}

export async function connectNats(login: NatsLogin): Promise<NatsConnection> {
  try {
    return await connect({
      servers: login.servers,
      ...(login.user !== undefined ? { user: login.user } : {}),
      ...(login.password !== undefined ? { pass: login.password } : {}),
      name: login.name,
      timeout: login.timeoutMs,
      reconnect: false,
      maxReconnectAttempts: 0,
      ignoreClusterUpdates: true,
      noRandomize: true,
    });
  } catch (error: unknown) {
    const text = error instanceof Error ? error.message : String(error);
    if (/authoriz|authentic/i.test(text)) {
      throw new JetStreamBackupError(`${login.where} refused user ${login.user ?? '(none)'} (${text}): check nats-user and nats-password.`, { cause: error });
    }
    throw new JetStreamBackupError(`${login.where} did not accept a connection: ${text}.`, { cause: error });
  }
}

export async function streamManager(nc: NatsConnection, where: string): Promise<JetStreamManager> {
  try {
    return await jetstreamManager(nc);
  } catch (error: unknown) {
    throw new JetStreamBackupError(`JetStream is not available on ${where} for this user: ${error instanceof Error ? error.message : String(error)}.`, { cause: error });
  }
}

export async function listStreams(jsm: JetStreamManager): Promise<StreamSummary[]> {
  const streams: StreamSummary[] = [];
  for await (const info of jsm.streams.list()) {
    streams.push({ ...streamCounts(info.config.name, info.state), subjects: info.config.subjects ?? [] });
  }
  return streams.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

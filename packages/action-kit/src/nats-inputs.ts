/**
 * `nats-url` and `nats-user`, read and checked in one place for every action that talks to the
 * stack's NATS through the SSH connection (rollback's HARD_HALT, a rolling deploy's return, the
 * JetStream backup). A URL with credentials in it is refused, its parts masked first so that no
 * log line shows them; the password is always its own secret input (`nats-password`).
 */
import { type NatsAddress, credentialParts, hasCredentials, parseNatsAddress } from '@titan/rollback/nats-address';
import { ConfigurationError } from './configuration-error.js';
import type { InputReader } from './inputs.js';
import { maskSecret } from './masking.js';

export const NATS_USER_PATTERN = /^[A-Za-z0-9._@-]{1,128}$/;

export interface NatsInputs {
  readonly address: NatsAddress;
  readonly user: string;
}

export function readNatsInputs(reader: InputReader, defaults: { url: string; user: string }): NatsInputs {
  const url = reader.optional('nats-url', defaults.url);
  if (hasCredentials(url)) for (const part of credentialParts(url)) maskSecret(part);
  const address = parseNatsAddress(url);
  if (typeof address === 'string') throw new ConfigurationError(`Input nats-url: ${address}.`, { input: 'nats-url' });
  const user = reader.optional('nats-user', defaults.user);
  if (!NATS_USER_PATTERN.test(user)) throw new ConfigurationError(`Input nats-user ${JSON.stringify(user)} is not a NATS user name.`, { input: 'nats-user' });
  return { address, user };
}

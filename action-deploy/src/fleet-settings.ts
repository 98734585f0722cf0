/**
 * The inputs of a deploy to many hosts: `hosts` (a YAML list of name, address, port, user and that
 * host's own known-hosts), `batch-size`, `on-failure` (rollback or leave), and for the return of
 * switched hosts the HARD_HALT's `nats-password` and `hmac-secret` (optional: without them the
 * return still stops trading in order, and warns that the HARD_HALT was not acknowledged).
 * With `hosts`, the single-host `host` and `known-hosts` must be empty; `port` and `user` are the
 * hosts' defaults, as `app-dir` and `project` are (a host may name its own); `ssh-key` is the one
 * key of the deploy user on every host.
 */
import { ConfigurationError } from '@titan/action-kit/configuration-error';
import { HOST_INPUT_DEFAULTS, USER_PATTERN } from '@titan/action-kit/host-inputs';
import type { InputReader } from '@titan/action-kit/inputs';
import { appDirProblem, projectProblem } from '@titan/host/host-layout';
import { type FleetHost, FleetHostsError, parseFleetHosts } from '@titan/fleet/fleet-hosts';
import { ON_FAILURE, type OnFailure } from '@titan/fleet/rolling-deploy';
import { parseNatsAddress, type NatsAddress } from '@titan/rollback/nats-address';

export interface FleetSettings {
  readonly hosts: readonly FleetHost[];
  readonly batchSize: number;
  readonly onFailure: OnFailure;
  readonly halt: { readonly address: NatsAddress; readonly user: string; readonly password: string; readonly hmacSecret: string; readonly timeoutSeconds: number };
}

/** undefined when `hosts` is empty (a single-host deploy). */
export function readFleet(reader: InputReader): FleetSettings | undefined {
  const text = reader.optional('hosts');
  if (text === undefined) return undefined;
  for (const single of ['host', 'known-hosts']) {
    if (reader.optional(single) !== undefined) {
      throw new ConfigurationError(`Input ${single} must be empty when hosts is given: each host of the list has its own address and known-hosts.`, { input: single });
    }
  }
  const port = reader.integer('port', HOST_INPUT_DEFAULTS.port, { min: 1, max: 65535 });
  const user = reader.optional('user', HOST_INPUT_DEFAULTS.user);
  if (!USER_PATTERN.test(user)) throw new ConfigurationError(`Input user ${JSON.stringify(user)} is not a user name (${USER_PATTERN.source}).`, { input: 'user' });
  let hosts: FleetHost[];
  try {
    hosts = parseFleetHosts(text, { port, user, appDirProblem, projectProblem });
  } catch (error: unknown) {
    if (error instanceof FleetHostsError) throw new ConfigurationError(`Input hosts: ${error.message}`, { input: 'hosts', cause: error });
    throw error;
  }
  const batchSize = reader.integer('batch-size', 1, { min: 1, max: 100 });
  const onFailure = reader.choice('on-failure', ON_FAILURE, 'rollback');
  const address = parseNatsAddress('127.0.0.1:4222');
  if (typeof address === 'string') throw new Error(address);
  return {
    hosts,
    batchSize,
    onFailure,
    halt: {
      address,
      user: 'console',
      password: reader.secret('nats-password') ?? '',
      hmacSecret: reader.secret('hmac-secret') ?? '',
      timeoutSeconds: 5,
    },
  };
}

/**
 * The inputs of a deploy to many hosts: action-kit's `hosts` and `batch-size` (fleet-inputs), then
 * `on-failure` (rollback or leave), and for the return of switched hosts the HARD_HALT's
 * `nats-url`, `nats-user`, `nats-password` and `hmac-secret` (optional: without them the return still stops trading in
 * order, and warns that the HARD_HALT was not acknowledged).
 */
import { type FleetInputs, readFleetInputs } from '@titan/action-kit/fleet-inputs';
import type { InputReader } from '@titan/action-kit/inputs';
import { ON_FAILURE, type OnFailure } from '@titan/fleet/rolling-deploy';
import { readNatsInputs } from '@titan/action-kit/nats-inputs';
import type { NatsAddress } from '@titan/rollback/nats-address';

/** action.yml's defaults of nats-url and nats-user, repeated for runs outside a runner. */
export const FLEET_NATS_DEFAULTS = { url: '127.0.0.1:4222', user: 'console' } as const;

export interface FleetSettings extends FleetInputs {
  readonly onFailure: OnFailure;
  readonly halt: { readonly address: NatsAddress; readonly user: string; readonly password: string; readonly hmacSecret: string; readonly timeoutSeconds: number };
}

/** undefined when `hosts` is empty (a single-host deploy). */
export function readFleet(reader: InputReader, sshKeyHint: string): FleetSettings | undefined {
  const inputs = readFleetInputs(reader, { sshKeyHint, batchSizeDefault: 1 });
  if (inputs === undefined) return undefined;
  const onFailure = reader.choice('on-failure', ON_FAILURE, 'rollback');
  const { address, user } = readNatsInputs(reader, { url: FLEET_NATS_DEFAULTS.url, user: FLEET_NATS_DEFAULTS.user });
  return {
    ...inputs,
    onFailure,
    halt: {
      address,
      user,
      password: reader.secret('nats-password') ?? '',
      hmacSecret: reader.secret('hmac-secret') ?? '',
      timeoutSeconds: 5,
    },
  };
}

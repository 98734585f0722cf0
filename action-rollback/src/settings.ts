import { ConfigurationError } from '@titan/action-kit/configuration-error';
import { type FleetInputs, readFleetInputs } from '@titan/action-kit/fleet-inputs';
import { HOST_INPUT_DEFAULTS, type HostConnectionSettings, type HostTargetSettings, readHostConnection, readHostTarget } from '@titan/action-kit/host-inputs';
import { InputReader } from '@titan/action-kit/inputs';
import { readNatsInputs } from '@titan/action-kit/nats-inputs';
import { runContext } from '@titan/action-kit/run-context';
import { SERVICE_NAME_PATTERN } from '@titan/release/image-reference';
import { RELEASE_ID_PATTERN } from '@titan/release/release-id';
import type { NatsAddress } from '@titan/rollback/nats-address';
import { ROLLBACK_MODES, type RollbackMode } from '@titan/rollback/rollback';
import type { RollbackTo } from '@titan/rollback/rollback-target';

export interface RollbackSettings extends HostConnectionSettings, HostTargetSettings {
  readonly mode: RollbackMode;
  readonly to: RollbackTo;
  readonly reason: string;
  readonly natsAddress: NatsAddress;
  readonly natsUser: string;
  readonly natsPassword: string;
  readonly hmacSecret: string;
  /** Overrides the stack profile's halt subject (undefined: the profile's). */
  readonly haltSubject: string | undefined;
  /** Overrides the stack profile's halt responder (undefined: the profile's). */
  readonly haltResponder: string | undefined;
  readonly haltTimeoutSeconds: number;
  readonly lockTimeoutSeconds: number;
  readonly heartbeatTimeoutSeconds: number;
  readonly healthTimeoutSeconds: number;
  readonly stopTimeoutSeconds: number | undefined;
  /** GITHUB_ACTOR, or `unknown` outside a runner. */
  readonly actor: string;
  /** This run's URL, or empty outside a runner. */
  readonly runUrl: string;
  /** Many hosts (`hosts`), each rolled back in turn; the host fields above are then its first host's. */
  readonly fleet: FleetInputs | undefined;
}

/** action.yml's defaults, repeated for runs outside a runner (which apply none). */
export const DEFAULTS = {
  ...HOST_INPUT_DEFAULTS,
  mode: 'rollback',
  to: 'last-good',
  natsUrl: '127.0.0.1:4222',
  natsUser: 'console',
  haltTimeout: 10,
  lockTimeout: 300,
  heartbeatTimeout: 60,
  healthTimeout: 120,
} as const;

/** A NATS subject to publish on: dot-separated tokens, no wildcards, no spaces. */
const SUBJECT_PATTERN = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;
const REASON_MAX = 500;

/**
 * The one reader of rollback's inputs (and of the runner's GITHUB_* context). `host` is read first:
 * with no inputs at all, it is the input the error names. Secrets (ssh-key, nats-password,
 * hmac-secret) are registered with the runner's masking as they are read.
 */
export function readSettings(reader = new InputReader(), env: NodeJS.ProcessEnv = process.env): RollbackSettings {
  const sshKey = 'the private key of the deploy user, e.g. secrets.TITAN_SSH_KEY';
  const fleet = readFleetInputs(reader, { sshKeyHint: sshKey, batchSizeDefault: 10 });
  const connection = fleet?.connection ?? readHostConnection(reader, { host: 'the name or address of the host to act on; or hosts, a list', sshKey });
  const reason = reader.required('reason', 'why: one line carried in the HARD_HALT and the journal');
  if (/[\r\n]/.test(reason) || reason.length > REASON_MAX) {
    throw new ConfigurationError(`Input reason must be one line of at most ${REASON_MAX} characters (got ${reason.length} characters${/[\r\n]/.test(reason) ? ', with a line break' : ''}).`, {
      input: 'reason',
    });
  }
  const natsPassword = reader.secret('nats-password', { required: true, hint: 'the password of nats-user, e.g. secrets.NATS_CONSOLE_PASSWORD' });
  const hmacSecret = reader.secret('hmac-secret', { required: true, hint: "the stack's HMAC_SECRET, e.g. secrets.HMAC_SECRET" });

  const target = readHostTarget(reader);

  const mode = reader.choice('mode', ROLLBACK_MODES, DEFAULTS.mode);
  const to = readTo(reader.optional('to', DEFAULTS.to));

  const { address: natsAddress, user: natsUser } = readNatsInputs(reader, { url: DEFAULTS.natsUrl, user: DEFAULTS.natsUser });
  const haltSubject = reader.optional('halt-subject');
  if (haltSubject !== undefined && !SUBJECT_PATTERN.test(haltSubject)) {
    throw new ConfigurationError(`Input halt-subject ${JSON.stringify(haltSubject)} is not a NATS subject to publish on (dot-separated tokens, no wildcards), e.g. titan.cmd.sys.halt.`, {
      input: 'halt-subject',
    });
  }
  const haltResponder = reader.optional('halt-responder');
  if (haltResponder !== undefined && !SERVICE_NAME_PATTERN.test(haltResponder)) {
    throw new ConfigurationError(`Input halt-responder ${JSON.stringify(haltResponder)} is not a compose service name (${SERVICE_NAME_PATTERN.source}).`, { input: 'halt-responder' });
  }
  const stopTimeout = reader.optional('stop-timeout');

  return {
    ...connection,
    ...target,
    mode,
    to,
    reason,
    natsAddress,
    natsUser,
    natsPassword,
    hmacSecret,
    haltSubject,
    haltResponder,
    haltTimeoutSeconds: reader.integer('halt-timeout', DEFAULTS.haltTimeout, { min: 1, max: 300 }),
    lockTimeoutSeconds: reader.integer('lock-timeout', DEFAULTS.lockTimeout, { min: 0, max: 24 * 3600 }),
    heartbeatTimeoutSeconds: reader.integer('heartbeat-timeout', DEFAULTS.heartbeatTimeout, { min: 3, max: 3600 }),
    healthTimeoutSeconds: reader.integer('health-timeout', DEFAULTS.healthTimeout, { min: 5, max: 3600 }),
    stopTimeoutSeconds: stopTimeout === undefined ? undefined : reader.integer('stop-timeout', 0, { min: 0, max: 3600 }),
    ...runContext(env),
    fleet,
  };
}

export function readTo(value: string): RollbackTo {
  if (value === 'last-good') return { kind: 'last-good' };
  if (value === 'previous') return { kind: 'previous' };
  if (RELEASE_ID_PATTERN.test(value)) return { kind: 'release', id: value };
  throw new ConfigurationError(`Input to must be last-good, previous or a release id (${RELEASE_ID_PATTERN.source}); got ${JSON.stringify(value)}.`, { input: 'to' });
}


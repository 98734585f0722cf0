/**
 * The inputs of an action run over many hosts, shared by deploy, verify and rollback: `hosts` (a
 * YAML list, see packages/fleet's fleet-hosts: each host its own address and pinned keys) and
 * `batch-size`. With `hosts`, the single-host `host` and `known-hosts` must be empty; `port` and
 * `user` are the defaults of a host that names none, as `app-dir` and `project` are; `ssh-key` is
 * the one key of the SSH user on every host, and `jump-host` (with its jump-* inputs) the one
 * bastion every host is reached through.
 */
import { type FleetHost, FleetHostsError, parseFleetHosts } from '@titan/fleet/fleet-hosts';
import { appDirProblem, projectProblem } from '@titan/host/host-layout';
import { ConfigurationError } from './configuration-error.js';
import { HOST_INPUT_DEFAULTS, type HostConnectionSettings, readJumpHost, USER_PATTERN } from './host-inputs.js';
import type { InputReader } from './inputs.js';

export interface FleetInputs {
  readonly hosts: readonly FleetHost[];
  readonly batchSize: number;
  /** The key for every host; the host fields name the first host (for messages that name one). */
  readonly connection: HostConnectionSettings;
}

/** undefined when `hosts` is empty (a single-host run). */
export function readFleetInputs(reader: InputReader, options: { sshKeyHint: string; batchSizeDefault: number }): FleetInputs | undefined {
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
  const batchSize = reader.integer('batch-size', options.batchSizeDefault, { min: 1, max: 100 });
  const sshKey = reader.secret('ssh-key', { required: true, hint: options.sshKeyHint });
  const sshKeyPassphrase = reader.secret('ssh-key-passphrase');
  const jump = readJumpHost(reader, { user, sshKey, sshKeyPassphrase });
  const first = hosts[0] as FleetHost;
  const connection = {
    host: first.address,
    port: first.port,
    user: first.user,
    sshKey,
    knownHosts: first.knownHosts,
    ...(sshKeyPassphrase !== undefined ? { sshKeyPassphrase } : {}),
    ...(jump !== undefined ? { jump } : {}),
  };
  return { hosts, batchSize, connection };
}

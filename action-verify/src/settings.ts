import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigurationError } from '@titan/action-kit/configuration-error';
import { type FleetInputs, readFleetInputs } from '@titan/action-kit/fleet-inputs';
import { HOST_INPUT_DEFAULTS, type HostConnectionSettings, type HostTargetSettings, readHostConnection, readHostTarget } from '@titan/action-kit/host-inputs';
import { InputReader } from '@titan/action-kit/inputs';
import { parsePublicKey, SigningKeyError } from '@titan/release/release-key';

export interface VerifySettings extends HostConnectionSettings, HostTargetSettings {
  /** A local bundle folder, absolute; undefined to verify against the host's current release. */
  readonly bundle: string | undefined;
  /** Raw 32-byte release public keys (zero or one). */
  readonly publicKeys: readonly Uint8Array[];
  readonly timeoutMs: number;
  /** Where the stack runs: Docker Compose (default) or a Docker Swarm stack. */
  readonly target: 'compose' | 'swarm';
  /** Many hosts (`hosts`), each verified against its own current release or the bundle; the host fields above are then its first host's. */
  readonly fleet: FleetInputs | undefined;
}

/** action.yml's defaults, repeated for runs outside a runner (which apply none). */
export const DEFAULTS = { ...HOST_INPUT_DEFAULTS, timeoutSeconds: 60 } as const;

/**
 * The one reader of verify's inputs. `host` is read first: with no inputs at all, it is the input
 * the error names.
 */
export function readSettings(reader = new InputReader()): VerifySettings {
  const sshKey = "the SSH user's private key, e.g. secrets.TITAN_SSH_KEY";
  const fleet = readFleetInputs(reader, { sshKeyHint: sshKey, batchSizeDefault: 10 });
  const connection = fleet?.connection ?? readHostConnection(reader, { host: 'the Droplet to verify, a hostname or an IP address; or hosts, a list', sshKey });
  const target = readHostTarget(reader);

  const bundleInput = reader.optional('bundle');
  const bundle = bundleInput === undefined ? undefined : resolve(bundleInput);
  if (bundle !== undefined && !isFolder(bundle)) {
    throw new ConfigurationError(`Input bundle: ${bundle} is not a folder; give the bundle folder sign wrote (its bundle output)`, { input: 'bundle' });
  }

  const publicKeyInput = reader.optional('public-key');
  let publicKeys: Uint8Array[] = [];
  if (publicKeyInput !== undefined) {
    try {
      publicKeys = [parsePublicKey(publicKeyInput)];
    } catch (error: unknown) {
      if (error instanceof SigningKeyError) throw new ConfigurationError(`Input public-key: ${error.message}`, { input: 'public-key', cause: error });
      throw error;
    }
  }
  const timeoutSeconds = reader.integer('timeout', DEFAULTS.timeoutSeconds, { min: 1, max: 3600 });
  const stackTarget = reader.choice('target', ['compose', 'swarm'] as const, 'compose');
  if (stackTarget === 'swarm' && bundle !== undefined) {
    throw new ConfigurationError('Input bundle is not used with target: swarm: the release current points at is verified on the host, then the swarm stack against its manifest. Leave bundle out.', { input: 'bundle' });
  }
  if (stackTarget === 'swarm' && fleet !== undefined) {
    throw new ConfigurationError('Input hosts is not used with target: swarm: a swarm is verified through its one manager (host and known-hosts).', { input: 'hosts' });
  }
  return { ...connection, ...target, bundle, publicKeys, timeoutMs: timeoutSeconds * 1000, target: stackTarget, fleet };
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigurationError } from '@titan/action-kit/configuration-error';
import { HOST_INPUT_DEFAULTS, type HostConnectionSettings, type HostTargetSettings, readHostConnection, readHostTarget, readJumpHost } from '@titan/action-kit/host-inputs';
import { InputReader } from '@titan/action-kit/inputs';
import { runContext } from '@titan/action-kit/run-context';
import type { TitanMode } from '@titan/host/compose-command';
import { HostLayout } from '@titan/host/host-layout';
import { MANIFEST_FILE, ManifestError, parseManifest } from '@titan/release/manifest';
import { RELEASE_ID_PATTERN } from '@titan/release/release-id';
import { parsePublicKey, SigningKeyError } from '@titan/release/release-key';
import { type FleetSettings, readFleet } from './fleet-settings.js';

export interface DeploySettings extends HostConnectionSettings, HostTargetSettings {
  /** Absolute path of the bundle folder. */
  readonly bundle: string;
  /** The release id the bundle's manifest names (checked against the release id rule). */
  readonly releaseId: string;
  readonly publicKey: Uint8Array | undefined;
  readonly mode: TitanMode;
  readonly healthTimeoutSeconds: number;
  readonly confirmTimeoutSeconds: number;
  readonly lockTimeoutSeconds: number;
  readonly heartbeatTimeoutSeconds: number;
  readonly keepReleases: number;
  readonly liftHalt: boolean;
  /** Deploy a release older than the running one, or one marked bad on the host. */
  readonly allowDowngrade: boolean;
  /** Only say what a deploy would do (read the host under the lock, change nothing). */
  readonly plan: boolean;
  /** Where the stack runs: Docker Compose on the host (default) or a Docker Swarm stack through its manager. */
  readonly target: 'compose' | 'swarm';
  readonly githubToken: string | undefined;
  readonly environment: string;
  readonly environmentUrl: string | undefined;
  /** GITHUB_ACTOR, or `unknown` outside a runner. */
  readonly actor: string;
  /** This run's URL, or empty outside a runner. */
  readonly runUrl: string;
  /** A rolling deploy to many hosts (`hosts`); the host fields above are then its first host's. */
  readonly fleet: FleetSettings | undefined;
}

/** What a deploy and a plan take from the settings: the host's layout, the project and the deploy's rules. */
export function deployRequestOf(settings: DeploySettings) {
  return {
    layout: new HostLayout(settings.appDir),
    project: settings.project,
    mode: settings.mode,
    healthTimeoutSeconds: settings.healthTimeoutSeconds,
    confirmTimeoutSeconds: settings.confirmTimeoutSeconds,
    lockTimeoutSeconds: settings.lockTimeoutSeconds,
    heartbeatTimeoutSeconds: settings.heartbeatTimeoutSeconds,
    keepReleases: settings.keepReleases,
    liftHalt: settings.liftHalt,
    allowDowngrade: settings.allowDowngrade,
    actor: settings.actor,
    runUrl: settings.runUrl,
  };
}

/** action.yml's defaults, repeated for runs outside a runner (which apply none). */
export const DEFAULTS = {
  ...HOST_INPUT_DEFAULTS,
  healthTimeout: 120,
  confirmTimeout: 300,
  lockTimeout: 300,
  heartbeatTimeout: 60,
  keepReleases: 5,
  environment: 'production',
} as const;

/**
 * The one reader of deploy's inputs (and of the runner's GITHUB_* context). `host` is read first:
 * with no inputs at all, it is the input the error names. Every value that reaches the host is
 * checked here; it is still passed to the host only as a quoted argument.
 */
export async function readSettings(reader = new InputReader(), env: NodeJS.ProcessEnv = process.env): Promise<DeploySettings> {
  const fleet = readFleet(reader);
  const sshKeyHint = 'the private key of the deploy user, e.g. secrets.TITAN_SSH_KEY';
  const connection = fleet === undefined ? readHostConnection(reader, { host: 'the name or address of the host to deploy to (or hosts, a list)', sshKey: sshKeyHint }) : fleetConnection(reader, fleet, sshKeyHint);
  const bundleInput = reader.required('bundle', "the bundle folder written by action-deploy/sign (its 'bundle' output)");
  const { bundle, releaseId } = await readBundleId(bundleInput);
  const target = readHostTarget(reader);
  const mode = reader.choice('mode', ['DISARMED', 'ARMED'] as const, 'DISARMED');

  const confirmTimeoutSeconds = reader.integer('confirm-timeout', DEFAULTS.confirmTimeout, { min: 10, max: 24 * 3600 });
  const heartbeatTimeoutSeconds = reader.integer('heartbeat-timeout', Math.min(DEFAULTS.heartbeatTimeout, Math.floor(confirmTimeoutSeconds / 2)), { min: 3, max: 3600 });
  if (heartbeatTimeoutSeconds >= confirmTimeoutSeconds) {
    throw new ConfigurationError(
      `Input heartbeat-timeout (${heartbeatTimeoutSeconds} s) must be shorter than confirm-timeout (${confirmTimeoutSeconds} s): a lost runner must lose the lock before its guard gives up waiting. ` +
        'Lower heartbeat-timeout (default 60) or raise confirm-timeout.',
      { input: 'heartbeat-timeout' },
    );
  }

  const settings = {
    ...connection,
    bundle,
    releaseId,
    publicKey: publicKeyInput(reader),
    ...target,
    mode,
    healthTimeoutSeconds: reader.integer('health-timeout', DEFAULTS.healthTimeout, { min: 5, max: 3600 }),
    confirmTimeoutSeconds,
    lockTimeoutSeconds: reader.integer('lock-timeout', DEFAULTS.lockTimeout, { min: 0, max: 24 * 3600 }),
    heartbeatTimeoutSeconds,
    keepReleases: reader.integer('keep-releases', DEFAULTS.keepReleases, { min: 1, max: 1000 }),
    liftHalt: reader.boolean('lift-halt', false),
    allowDowngrade: reader.boolean('allow-downgrade', false),
    plan: reader.boolean('plan', false),
    target: reader.choice('target', ['compose', 'swarm'] as const, 'compose'),
    githubToken: reader.secret('github-token'),
    environment: reader.optional('environment', DEFAULTS.environment),
    environmentUrl: reader.optional('environment-url'),
    ...runContext(env),
    fleet,
  };
  if (fleet !== undefined && settings.plan) throw new ConfigurationError('Input plan: `true` is for one host; give host and known-hosts instead of hosts.', { input: 'plan' });
  if (fleet !== undefined && settings.githubToken !== undefined) {
    throw new ConfigurationError('Input github-token: a GitHub deployment records one host; leave it empty with hosts (the job summary has a row per host).', { input: 'github-token' });
  }
  return settings;
}

/** With `hosts`: the one key for every host, the one bastion (`jump-host`) for all of them; the host fields name the first host. */
function fleetConnection(reader: InputReader, fleet: FleetSettings, hint: string): HostConnectionSettings {
  const sshKey = reader.secret('ssh-key', { required: true, hint });
  const sshKeyPassphrase = reader.secret('ssh-key-passphrase');
  const first = fleet.hosts[0];
  if (first === undefined) throw new ConfigurationError('Input hosts lists no host.', { input: 'hosts' });
  const jump = readJumpHost(reader, { user: reader.optional('user', HOST_INPUT_DEFAULTS.user), sshKey, sshKeyPassphrase });
  return {
    host: first.address,
    port: first.port,
    user: first.user,
    sshKey,
    knownHosts: first.knownHosts,
    ...(sshKeyPassphrase !== undefined ? { sshKeyPassphrase } : {}),
    ...(jump !== undefined ? { jump } : {}),
  };
}

async function readBundleId(input: string): Promise<{ bundle: string; releaseId: string }> {
  const bundle = resolve(input);
  const where = `Input bundle (${input})`;
  try {
    if (!(await stat(bundle)).isDirectory()) {
      throw new ConfigurationError(`${where} is not a folder; give the folder action-deploy/sign wrote (its 'bundle' output).`, { input: 'bundle' });
    }
  } catch (error: unknown) {
    if (error instanceof ConfigurationError) throw error;
    throw new ConfigurationError(`${where} cannot be read (${codeOf(error)}); download the bundle artifact first and pass its folder.`, {
      input: 'bundle',
      cause: error,
    });
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(join(bundle, MANIFEST_FILE));
  } catch (error: unknown) {
    throw new ConfigurationError(`${where} has no readable ${MANIFEST_FILE} (${codeOf(error)}): it is not a release bundle written by action-deploy/sign.`, {
      input: 'bundle',
      cause: error,
    });
  }
  // The release id names a folder on the host: its rule is checked on its own first, so a bad id is
  // reported as such whatever else is wrong with the manifest.
  const claimedId = releaseIdIn(bytes);
  if (claimedId !== undefined && !RELEASE_ID_PATTERN.test(claimedId)) {
    throw new ConfigurationError(
      `${where}: the release id ${JSON.stringify(claimedId)} in ${MANIFEST_FILE} breaks the release id rule (${RELEASE_ID_PATTERN.source}); it was not used. Sign the release again.`,
      { input: 'bundle' },
    );
  }
  try {
    return { bundle, releaseId: parseManifest(bytes).releaseId };
  } catch (error: unknown) {
    if (error instanceof ManifestError) {
      throw new ConfigurationError(`${where}: ${MANIFEST_FILE} is not a valid release manifest: ${error.message}. Sign the release again.`, {
        input: 'bundle',
        cause: error,
      });
    }
    throw error;
  }
}

function releaseIdIn(bytes: Buffer): string | undefined {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    if (value !== null && typeof value === 'object' && 'releaseId' in value && typeof value.releaseId === 'string') return value.releaseId;
  } catch {
    // not JSON: parseManifest says so
  }
  return undefined;
}

function publicKeyInput(reader: InputReader): Uint8Array | undefined {
  const text = reader.optional('public-key');
  if (text === undefined) return undefined;
  try {
    return parsePublicKey(text);
  } catch (error: unknown) {
    if (error instanceof SigningKeyError) throw new ConfigurationError(`Input public-key: ${error.message}`, { input: 'public-key', cause: error });
    throw error;
  }
}

function codeOf(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : 'unreadable';
}

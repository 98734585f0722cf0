import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigurationError } from '@titan/action-kit/configuration-error';
import { InputReader } from '@titan/action-kit/inputs';
import { parsePublicKey, SigningKeyError } from '@titan/release/release-key';

export interface VerifySettings {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** The private key; masked by the reader before it is returned. */
  readonly sshKey: string;
  /** known_hosts text (or bare keys / fingerprints), as pinned host keys. */
  readonly knownHosts: string;
  readonly appDir: string;
  readonly project: string;
  /** A local bundle folder, absolute; undefined to verify against the host's current release. */
  readonly bundle: string | undefined;
  /** Raw 32-byte release public keys (zero or one). */
  readonly publicKeys: readonly Uint8Array[];
  readonly timeoutMs: number;
}

/** action.yml's defaults, repeated for runs outside a runner (which apply none). */
export const DEFAULTS = { port: 22, user: 'deploy', appDir: '/opt/titan', project: 'titan', timeoutSeconds: 60 } as const;

const APP_DIR_PATTERN = /^\/[A-Za-z0-9._/-]+$/;
const PROJECT_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
const HOST_PATTERN = /^[A-Za-z0-9._:[\]-]+$/;
const USER_PATTERN = /^[a-z_][a-z0-9_-]*[$]?$/;

/**
 * The one reader of verify's inputs. `host` is read first: with no inputs at all, it is the input
 * the error names.
 */
export function readSettings(reader = new InputReader()): VerifySettings {
  const host = reader.required('host', 'the Droplet to verify, a hostname or an IP address');
  if (!HOST_PATTERN.test(host)) {
    throw new ConfigurationError(`Input host "${host}" is not a hostname or an IP address`, { input: 'host' });
  }
  const sshKey = reader.secret('ssh-key', { required: true, hint: "the SSH user's private key, e.g. secrets.TITAN_SSH_KEY" });
  const knownHosts = reader.required('known-hosts', "the host's pinned public key: a known_hosts line, a public key or a SHA256 fingerprint");
  const port = reader.integer('port', DEFAULTS.port, { min: 1, max: 65535 });
  const user = reader.optional('user', DEFAULTS.user);
  if (!USER_PATTERN.test(user)) throw new ConfigurationError(`Input user "${user}" is not a user name`, { input: 'user' });

  const appDir = reader.optional('app-dir', DEFAULTS.appDir).replace(/(.)\/+$/, '$1');
  if (!APP_DIR_PATTERN.test(appDir) || appDir.split('/').includes('..')) {
    throw new ConfigurationError(
      `Input app-dir "${appDir}" must be an absolute path of letters, digits, ".", "_", "-" and "/", without "..", e.g. /opt/titan`,
      { input: 'app-dir' },
    );
  }
  const project = reader.optional('project', DEFAULTS.project);
  if (!PROJECT_PATTERN.test(project)) {
    throw new ConfigurationError(`Input project "${project}" must match ${PROJECT_PATTERN.source} (a Docker Compose project name), e.g. titan`, {
      input: 'project',
    });
  }

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
  return { host, port, user, sshKey, knownHosts, appDir, project, bundle, publicKeys, timeoutMs: timeoutSeconds * 1000 };
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

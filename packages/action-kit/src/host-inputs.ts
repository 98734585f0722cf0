/**
 * The inputs every action that works on a Titan host shares, read and checked in one place:
 *
 *  - the connection: `host`, `port` (22), `user` (deploy), `ssh-key` (a secret, required),
 *    `ssh-key-passphrase` (a secret, for an encrypted key) and `known-hosts` (required, one pin a line: known_hosts lines, bare public keys or SHA256:
 *    fingerprints; a host presenting any other key is refused before anything is sent);
 *  - the target: `app-dir` (/opt/titan) and `project` (titan), checked with packages/host's own
 *    rules (the values are used as paths and arguments on the host).
 *
 * `host` is read first: with no inputs at all, it is the input the error names. Each action's
 * `settings.ts` calls these, then reads its own inputs.
 */
import { appDirProblem, projectProblem } from '@titan/host/host-layout';
import type { Logger } from '@titan/log/logger';
import type { SshConnectOptions } from '@titan/ssh/connect';
import { parseSshHost } from '@titan/ssh/host-name';
import { ConfigurationError } from './configuration-error.js';
import type { InputReader } from './inputs.js';

export interface HostConnectionSettings {
  /** A DNS name or an IP address; an IPv6 address without brackets (`2001:db8::7`). */
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** The private key; masked by the reader before it is returned. */
  readonly sshKey: string;
  /** The key's passphrase when it is encrypted; masked like the key. */
  readonly sshKeyPassphrase?: string;
  /** The pinned host keys, one entry a line (comments and blank lines dropped). */
  readonly knownHosts: readonly string[];
}

export interface HostTargetSettings {
  readonly appDir: string;
  readonly project: string;
}

/** What the action says about `host` and `ssh-key` when they are missing. */
export interface HostInputHints {
  readonly host?: string;
  readonly sshKey?: string;
}

/** action.yml's defaults of the shared inputs, repeated for runs outside a runner (which apply none). */
export const HOST_INPUT_DEFAULTS = { port: 22, user: 'deploy', appDir: '/opt/titan', project: 'titan' } as const;

/** A login name as useradd(8) accepts it by default. */
export const USER_PATTERN = /^[a-z_][a-z0-9_-]*[$]?$/;

const DEFAULT_HINTS: Required<HostInputHints> = {
  host: 'the name or address of the host',
  sshKey: 'the private key of the SSH user, e.g. secrets.TITAN_SSH_KEY',
};

export const KNOWN_HOSTS_HINT =
  'the host key to pin: a known_hosts line checked out of band, the bare public key, or its SHA256: fingerprint';

/** `host`, `ssh-key`, `ssh-key-passphrase`, `known-hosts`, `port` and `user`, in that order. */
export function readHostConnection(reader: InputReader, hints: HostInputHints = {}): HostConnectionSettings {
  const written = reader.required('host', hints.host ?? DEFAULT_HINTS.host);
  const parsed = parseSshHost(written);
  if ('problem' in parsed) throw new ConfigurationError(`Input host ${parsed.problem}.`, { input: 'host' });
  const host = parsed.host;
  const sshKey = reader.secret('ssh-key', { required: true, hint: hints.sshKey ?? DEFAULT_HINTS.sshKey });
  const sshKeyPassphrase = reader.secret('ssh-key-passphrase');
  const knownHosts = reader.lines('known-hosts');
  if (knownHosts.length === 0) {
    throw new ConfigurationError(`Input required and not supplied: known-hosts (${KNOWN_HOSTS_HINT})`, { input: 'known-hosts' });
  }
  const port = reader.integer('port', HOST_INPUT_DEFAULTS.port, { min: 1, max: 65535 });
  const user = reader.optional('user', HOST_INPUT_DEFAULTS.user);
  if (!USER_PATTERN.test(user)) {
    throw new ConfigurationError(`Input user ${JSON.stringify(user)} is not a user name (${USER_PATTERN.source}).`, { input: 'user' });
  }
  return { host, port, user, sshKey, knownHosts, ...(sshKeyPassphrase !== undefined ? { sshKeyPassphrase } : {}) };
}

/** `app-dir` and `project`, checked with packages/host's rules. */
export function readHostTarget(reader: InputReader): HostTargetSettings {
  const appDir = reader.optional('app-dir', HOST_INPUT_DEFAULTS.appDir);
  const appProblem = appDirProblem(appDir);
  if (appProblem !== undefined) {
    throw new ConfigurationError(`Input app-dir ${JSON.stringify(appDir)} is not usable: ${appProblem}.`, { input: 'app-dir' });
  }
  const project = reader.optional('project', HOST_INPUT_DEFAULTS.project);
  const projectIssue = projectProblem(project);
  if (projectIssue !== undefined) {
    throw new ConfigurationError(`Input project ${JSON.stringify(project)} is not a Compose project name: ${projectIssue}.`, { input: 'project' });
  }
  return { appDir, project };
}

/** The options connectSsh (@titan/ssh/connection) takes for these settings: host key pinned, default timeouts and retries. */
export function hostConnectOptions(settings: HostConnectionSettings, logger: Logger): SshConnectOptions {
  return {
    host: settings.host,
    port: settings.port,
    username: settings.user,
    privateKey: settings.sshKey,
    ...(settings.sshKeyPassphrase !== undefined ? { passphrase: settings.sshKeyPassphrase } : {}),
    hostKeys: settings.knownHosts,
    logger,
  };
}

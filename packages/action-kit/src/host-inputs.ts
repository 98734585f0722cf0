/**
 * The inputs every action that works on a Titan host shares, read and checked in one place:
 *
 *  - the connection: `host`, `port` (22), `user` (deploy), `ssh-key` (a secret, required),
 *    `ssh-key-passphrase` (a secret, for an encrypted key) and `known-hosts` (required, one pin a line: known_hosts lines, bare public keys or SHA256:
 *    fingerprints; a host presenting any other key is refused before anything is sent);
 *  - the bastion, when the host is reached through one: `jump-host` (`[user@]host[:port]`, an IPv6
 *    address with a port in brackets), `jump-user` (default: `user`), `jump-ssh-key` (a secret;
 *    default: `ssh-key` and its passphrase) and `jump-known-hosts` (required with `jump-host`: the
 *    bastion's own pins, same rules and same refusals as `known-hosts`). The other jump inputs are
 *    refused without `jump-host`;
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
import { JumpHost } from '@titan/ssh/jump-host';
import { ConfigurationError } from './configuration-error.js';
import type { InputReader } from './inputs.js';

/** One SSH endpoint as the inputs give it: a host, or the bastion in front of it. */
export interface SshEndpointSettings {
  /** A DNS name or an IP address; an IPv6 address without brackets (`2001:db8::7`). */
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** The private key (for a bastion, `jump-ssh-key` or else the host's `ssh-key`); masked by the reader before it is returned. */
  readonly sshKey: string;
  /** The key's passphrase when it is encrypted; masked like the key. */
  readonly sshKeyPassphrase?: string;
  /** The pinned host keys (`known-hosts`, or `jump-known-hosts`), one entry a line (comments and blank lines dropped). */
  readonly knownHosts: readonly string[];
}

export interface HostConnectionSettings extends SshEndpointSettings {
  /** The bastion the host is reached through (`jump-host`), when there is one. */
  readonly jump?: JumpHostSettings;
}

/** A bastion: its own address, user, key and pins. */
export type JumpHostSettings = SshEndpointSettings;

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

export const JUMP_KNOWN_HOSTS_HINT =
  "the bastion's host key to pin: a known_hosts line checked out of band, the bare public key, or its SHA256: fingerprint";

const JUMP_INPUTS = ['jump-user', 'jump-ssh-key', 'jump-known-hosts'] as const;

/**
 * `jump-host` as written: `host`, `host:port`, `user@host`, `user@host:port`; an IPv6 address bare
 * (`2001:db8::7`) or in brackets, with a port only in brackets (`[2001:db8::7]:2222`).
 */
export function parseJumpHost(text: string): { user?: string; host: string; port: number } | { problem: string } {
  const at = text.lastIndexOf('@');
  const user = at >= 0 ? text.slice(0, at) : undefined;
  if (user !== undefined && !USER_PATTERN.test(user)) return { problem: `${JSON.stringify(text)} names the user ${JSON.stringify(user)}, which is not a user name (${USER_PATTERN.source})` };
  const address = at >= 0 ? text.slice(at + 1) : text;
  let hostText = address;
  let portText: string | undefined;
  const bracketed = /^(\[[^\]]*\])(?::(.*))?$/.exec(address);
  if (bracketed !== null) {
    hostText = bracketed[1] ?? '';
    portText = bracketed[2];
  } else if ((address.match(/:/g) ?? []).length === 1) {
    [hostText, portText] = address.split(':') as [string, string];
  }
  const parsed = parseSshHost(hostText);
  if ('problem' in parsed) return { problem: `${JSON.stringify(text)}: the host ${parsed.problem === 'is empty' ? 'is empty' : parsed.problem.replace(', without a port: the port is its own input', ', a port after it in brackets: [2001:db8::7]:2222')}` };
  let port = 22;
  if (portText !== undefined) {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : 0;
    if (port < 1 || port > 65535) return { problem: `${JSON.stringify(text)}: the port ${JSON.stringify(portText)} is not a TCP port (1-65535)` };
  }
  return { ...(user !== undefined ? { user } : {}), host: parsed.host, port };
}

/**
 * `jump-host`, `jump-user`, `jump-ssh-key` and `jump-known-hosts`: undefined without `jump-host`
 * (and then the others must be empty). `host` gives the defaults: its user and its key.
 */
export function readJumpHost(reader: InputReader, host: { user: string; sshKey: string; sshKeyPassphrase?: string | undefined }): JumpHostSettings | undefined {
  const written = reader.optional('jump-host');
  if (written === undefined) {
    for (const name of JUMP_INPUTS) {
      const given = name === 'jump-ssh-key' ? reader.secret(name) : reader.optional(name);
      if (given !== undefined) throw new ConfigurationError(`Input ${name} is only for a host reached through a bastion: give jump-host too, or leave ${name} empty.`, { input: name });
    }
    return undefined;
  }
  const parsed = parseJumpHost(written);
  if ('problem' in parsed) throw new ConfigurationError(`Input jump-host ${parsed.problem}.`, { input: 'jump-host' });
  const userInput = reader.optional('jump-user');
  if (userInput !== undefined && parsed.user !== undefined && userInput !== parsed.user) {
    throw new ConfigurationError(`Input jump-user (${JSON.stringify(userInput)}) and the user in jump-host (${JSON.stringify(parsed.user)}) differ: give the bastion's user once.`, { input: 'jump-user' });
  }
  const user = userInput ?? parsed.user ?? host.user;
  if (!USER_PATTERN.test(user)) throw new ConfigurationError(`Input jump-user ${JSON.stringify(user)} is not a user name (${USER_PATTERN.source}).`, { input: 'jump-user' });
  const ownKey = reader.secret('jump-ssh-key');
  const knownHosts = reader.lines('jump-known-hosts');
  if (knownHosts.length === 0) {
    throw new ConfigurationError(`Input required and not supplied: jump-known-hosts (${JUMP_KNOWN_HOSTS_HINT})`, { input: 'jump-known-hosts' });
  }
  const key = ownKey !== undefined ? { sshKey: ownKey } : { sshKey: host.sshKey, ...(host.sshKeyPassphrase !== undefined ? { sshKeyPassphrase: host.sshKeyPassphrase } : {}) };
  return { host: parsed.host, port: parsed.port, user, ...key, knownHosts };
}

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
  const jump = readJumpHost(reader, { user, sshKey, sshKeyPassphrase });
  return { host, port, user, sshKey, knownHosts, ...(sshKeyPassphrase !== undefined ? { sshKeyPassphrase } : {}), ...(jump !== undefined ? { jump } : {}) };
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

/**
 * The bastion of these settings (its pins checked here: SshConfigError naming it), or undefined. Its
 * connection opens on first use and closes with the last connection through it.
 */
export function jumpHostOf(jump: JumpHostSettings | undefined, logger: Logger): JumpHost | undefined {
  if (jump === undefined) return undefined;
  return new JumpHost({
    host: jump.host,
    port: jump.port,
    username: jump.user,
    privateKey: jump.sshKey,
    ...(jump.sshKeyPassphrase !== undefined ? { passphrase: jump.sshKeyPassphrase } : {}),
    hostKeys: jump.knownHosts,
    logger,
  });
}

/**
 * The options connectSsh (@titan/ssh/connection) takes for these settings: host key pinned, default
 * timeouts and retries; through the bastion when `jump-host` names one.
 */
export function hostConnectOptions(settings: HostConnectionSettings, logger: Logger): SshConnectOptions {
  const via = jumpHostOf(settings.jump, logger);
  return {
    ...(via !== undefined ? { via } : {}),
    host: settings.host,
    port: settings.port,
    username: settings.user,
    privateKey: settings.sshKey,
    ...(settings.sshKeyPassphrase !== undefined ? { passphrase: settings.sshKeyPassphrase } : {}),
    hostKeys: settings.knownHosts,
    logger,
  };
}

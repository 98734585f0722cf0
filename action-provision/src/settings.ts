import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { ConfigurationError } from '@titan/action-kit/configuration-error';
import { USER_PATTERN } from '@titan/action-kit/host-inputs';
import { InputReader } from '@titan/action-kit/inputs';
import { maskSecret } from '@titan/action-kit/masking';
import { resolveRequiredValues, RequiredValuesError } from '@titan/gatekeeper/required-values';
import { ReleaseSourceError } from '@titan/release/release-source-error';
import { readServicesFile, SERVICES_FILE, type ProductionValueNames } from '@titan/release/services-file';
import { APP_DIR_PATTERN, appDirProblem, projectProblem } from '@titan/host/host-layout';
import type { GitHubEnvironment } from '@titan/provision/github-secrets';
import { debianCodename, type DockerSource, type HostSpec } from '@titan/provision/host-spec';
import { prepareHostValues, ProductionValuesRefusedError, SECRET_FILE_PATTERN, type HostValues, type SecretFileSpec } from '@titan/provision/host-values';
import type { ProvisionTarget } from '@titan/provision/provision-target';
import { parsePublicKey, publicKeyToPem, releaseKeyId, SigningKeyError } from '@titan/release/release-key';
import { parseHostKeyPins } from '@titan/ssh/host-key-pins';

export interface ProvisionSettings {
  readonly token: string;
  readonly apiUrl: string;
  readonly target: ProvisionTarget;
  readonly plan: boolean;
  readonly sshKey: string;
  readonly knownHosts: readonly string[] | undefined;
  readonly values: HostValues | undefined;
  readonly valueWarnings: readonly string[];
  readonly github: { environment: GitHubEnvironment; hostSecret: string; knownHostsSecret: string; currentHost?: string; currentKnownHosts?: string } | undefined;
  readonly timeouts: { activeMs: number; actionMs: number; bootMs: number; pollIntervalMs: number };
  readonly warnings: readonly string[];
}

const DROPLET_NAME = /^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,61}[a-zA-Z0-9])?$/;
const TAG = /^[a-zA-Z0-9_:-]{1,255}$/;
const SLUG = /^[a-z0-9][a-z0-9-]{0,63}$/;
const PUBLIC_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com) [A-Za-z0-9+/]+=*( [^\r\n]*)?$/;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;
const SECRET_NAME = /^[A-Z_][A-Z0-9_]{0,99}$/;

const fail = (input: string, message: string): never => {
  throw new ConfigurationError(`Input ${input}: ${message}`, { input });
};

/** The one reader of provision's inputs. `token` is read first: with no inputs, it is the one named. */
export async function readSettings(reader = new InputReader(), env: NodeJS.ProcessEnv = process.env): Promise<ProvisionSettings> {
  const warnings: string[] = [];
  const token = reader.secret('token', { required: true, hint: 'a DigitalOcean API token with read and write scopes, e.g. secrets.DIGITALOCEAN_TOKEN' });
  const name = reader.required('name', 'the Droplet name, e.g. titan-prod');
  if (!DROPLET_NAME.test(name)) fail('name', `${JSON.stringify(name)} is not a Droplet name (letters, digits, "." and "-", at most 63, starting and ending with a letter or digit)`);
  const tag = reader.optional('tag', name);
  if (!TAG.test(tag)) fail('tag', `${JSON.stringify(tag)} is not a DigitalOcean tag (letters, digits, ":", "-" and "_")`);
  const region = reader.required('region', 'a region slug, e.g. fra1');
  if (!/^[a-z]{3}\d$/.test(region)) fail('region', `${JSON.stringify(region)} is not a region slug (e.g. fra1, nyc3)`);
  const size = reader.required('size', 'a Droplet size slug, e.g. s-2vcpu-4gb');
  if (!SLUG.test(size)) fail('size', `${JSON.stringify(size)} is not a size slug (e.g. s-2vcpu-4gb)`);
  const image = reader.optional('image', 'debian-13-x64');
  if (!SLUG.test(image)) fail('image', `${JSON.stringify(image)} is not an image slug (e.g. debian-13-x64)`);
  const dockerSource = reader.optional('docker-source', 'debian');
  if (dockerSource !== 'debian' && dockerSource !== 'docker') fail('docker-source', `must be debian or docker, got ${JSON.stringify(dockerSource)}`);
  const codename = debianCodename(image);
  if (codename === undefined) fail('image', `${image} is not a Debian image (debian-12-x64, debian-13-x64): the host scripts and packages are Debian's`);
  if (dockerSource === 'debian' && (codename === 'bookworm' || codename === 'bullseye')) fail('docker-source', `Debian ${codename}'s archive has no Compose plugin (only Compose v1): use image debian-13-x64, or docker-source: docker`);

  const deployUser = reader.optional('deploy-user', 'deploy');
  if (!USER_PATTERN.test(deployUser) || deployUser === 'root') fail('deploy-user', `${JSON.stringify(deployUser)} is not a user name for the deploy user`);
  const deployPublicKey = reader.required('deploy-public-key', "the deploy user's SSH public key, one OpenSSH line");
  if (!PUBLIC_KEY.test(deployPublicKey)) fail('deploy-public-key', 'must be one OpenSSH public key line (ssh-ed25519 AAAA... comment); a private key or several lines are refused');
  const sshKey = reader.secret('ssh-key', { required: true, hint: "the deploy user's private key, e.g. secrets.TITAN_SSH_KEY" });
  if (!sshKey.includes('PRIVATE KEY')) fail('ssh-key', 'is not a private key (OpenSSH or PEM)');
  const knownHostsLines = reader.lines('known-hosts');
  if (knownHostsLines.length > 0) {
    try {
      parseHostKeyPins(knownHostsLines);
    } catch (error) {
      fail('known-hosts', error instanceof Error ? error.message : String(error));
    }
  }
  const sshPort = reader.integer('ssh-port', 22, { min: 1, max: 65535 });
  const sshSources = reader.lines('ssh-allowed-sources').flatMap((l) => l.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  if (sshSources.length === 0) throw new ConfigurationError('Input required and not supplied: ssh-allowed-sources (the CIDR ranges allowed to reach SSH)', { input: 'ssh-allowed-sources' });
  for (const cidr of sshSources) {
    const [address, prefix, extra] = cidr.split('/');
    const family = isIP(address ?? '');
    const bits = Number(prefix);
    if (family === 0 || extra !== undefined || prefix === undefined || !/^\d+$/.test(prefix) || bits > (family === 4 ? 32 : 128)) fail('ssh-allowed-sources', `${JSON.stringify(cidr)} is not a CIDR range (e.g. 203.0.113.0/24 or 2001:db8::/32)`);
    if (bits === 0) warnings.push(`ssh-allowed-sources holds ${cidr}: SSH is open to the whole Internet (key login only); narrow it to your runners or a bastion`);
  }
  const releaseKeys = readReleaseKeys(reader);
  const appDir = reader.optional('app-dir', '/opt/titan');
  const appProblem = appDirProblem(appDir);
  if (appProblem !== undefined) fail('app-dir', `${JSON.stringify(appDir)} is not usable: ${appProblem}`);
  const project = reader.optional('project', 'titan');
  const projectIssue = projectProblem(project);
  if (projectIssue !== undefined) fail('project', `${JSON.stringify(project)} is not a Compose project name: ${projectIssue}`);
  const volumeSize = reader.integer('volume-size', 10, { min: 0, max: 16384 });
  const volumeName = `${name.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^[^a-z]+/, '')}-jetstream`.slice(0, 64);
  const mountPoint = reader.optional('volume-mount-point', `/var/lib/docker/volumes/${project}_titan-jetstream-data`);
  if (!APP_DIR_PATTERN.test(mountPoint) || mountPoint.split('/').some((s) => s === '..' || s === '.')) fail('volume-mount-point', `${JSON.stringify(mountPoint)} is not an absolute path of [A-Za-z0-9._/-]`);
  const firewall = reader.boolean('firewall', true);

  const domain = reader.optional('domain')?.toLowerCase();
  let dns: ProvisionTarget['dns'];
  if (domain !== undefined) {
    if (!DOMAIN.test(domain)) fail('domain', `${JSON.stringify(domain)} is not a DNS name (e.g. titan.example.com)`);
    const labels = domain.split('.');
    const zone = reader.optional('dns-zone')?.toLowerCase() ?? (labels.length > 2 ? labels.slice(1).join('.') : domain);
    if (domain !== zone && !domain.endsWith(`.${zone}`)) fail('dns-zone', `${domain} is not inside the domain ${zone}`);
    dns = { zone, record: domain === zone ? '@' : domain.slice(0, -(zone.length + 1)), ttl: reader.integer('dns-ttl', 300, { min: 30, max: 86400 }) };
  }

  const { values, valueWarnings } = await readValues(reader, env);
  const github = readGitHub(reader, env);
  const host: HostSpec = {
    hostname: name,
    deployUser,
    deployPublicKey,
    sshPort,
    sshSources,
    appDir,
    releaseKeys,
    ...(volumeSize > 0 ? { volume: { name: volumeName, mountPoint } } : {}),
    dockerSource: dockerSource as DockerSource,
    debianCodename: codename as string,
  };
  const target: ProvisionTarget = {
    droplet: { name, tag, region, size, image, ipv6: reader.boolean('ipv6', false), upgradePackages: reader.boolean('upgrade-packages', true) },
    ...(volumeSize > 0 ? { volume: { name: volumeName, sizeGiB: volumeSize } } : {}),
    ...(firewall ? { firewall: { name: `${tag.replace(/[^a-zA-Z0-9.-]/g, '-')}-firewall` } } : {}),
    ...(dns === undefined ? {} : { dns }),
    host,
  };
  const activeSeconds = reader.integer('active-timeout', 300, { min: 1, max: 3600 });
  const apiUrl = reader.optional('api-url', 'https://api.digitalocean.com');
  if (!/^https?:\/\/[^\s/]+(\/[^\s]*)?$/.test(apiUrl)) fail('api-url', `${JSON.stringify(apiUrl)} is not an http(s) URL`);
  return {
    token,
    apiUrl,
    target,
    plan: reader.boolean('plan', false),
    sshKey,
    knownHosts: knownHostsLines.length > 0 ? knownHostsLines : undefined,
    values,
    valueWarnings,
    github,
    timeouts: {
      activeMs: activeSeconds * 1000,
      actionMs: activeSeconds * 1000,
      bootMs: reader.integer('boot-timeout', 900, { min: 1, max: 7200 }) * 1000,
      pollIntervalMs: reader.integer('poll-interval', 3, { min: 0, max: 60 }) * 1000,
    },
    warnings,
  };
}

function readReleaseKeys(reader: InputReader): HostSpec['releaseKeys'] {
  const text = reader.optional('release-public-keys');
  if (text === undefined) throw new ConfigurationError('Input required and not supplied: release-public-keys (the sign action\'s public key the host verifies releases with)', { input: 'release-public-keys' });
  const blocks = text.match(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g) ?? [];
  const rest = text.replace(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g, '').split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const keys = new Map<string, string>();
  for (const entry of [...blocks, ...rest]) {
    try {
      const key = parsePublicKey(entry);
      keys.set(releaseKeyId(key), publicKeyToPem(key));
    } catch (error) {
      if (error instanceof SigningKeyError) fail('release-public-keys', error.message);
      throw error;
    }
  }
  if (keys.size === 0) fail('release-public-keys', 'holds no key');
  return [...keys].map(([id, pem]) => ({ id, pem }));
}

async function readValues(reader: InputReader, env: NodeJS.ProcessEnv): Promise<{ values: HostValues | undefined; valueWarnings: string[] }> {
  const text = reader.secret('values');
  const secretFiles: SecretFileSpec[] = reader.lines('secret-files').map((line) => {
    const [file, variable, extra] = line.split('=').map((s) => s.trim());
    if (file === undefined || variable === undefined || extra !== undefined || !SECRET_FILE_PATTERN.test(file) || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable)) {
      return fail('secret-files', `${JSON.stringify(line)} is not FILE=VARIABLE (a file name of [A-Za-z0-9._-] and a variable of the values)`);
    }
    return { file, variable };
  });
  if (text === undefined) {
    if (secretFiles.length > 0) fail('secret-files', 'needs the values input: each file holds one of its variables');
    return { values: undefined, valueWarnings: [] };
  }
  const names = await releaseValueNames(reader.optional('source', 'examples/titan'), env);
  let required: string[];
  try {
    required = resolveRequiredValues(reader.lines('required'), names.required);
  } catch (error) {
    if (error instanceof RequiredValuesError) return fail('required', error.message);
    throw error;
  }
  try {
    const { values, warnings } = prepareHostValues(text, { required, distinct: names.distinct }, secretFiles);
    for (const f of values.secretFiles) maskSecret(f.content);
    return { values, valueWarnings: warnings.map((w) => `${w.message}. ${w.fix}`) };
  } catch (error) {
    if (error instanceof ProductionValuesRefusedError) return fail('values', error.message);
    throw error;
  }
}

/** values of the release source's services.yml: the production values its deploy needs. */
async function releaseValueNames(source: string, env: NodeJS.ProcessEnv): Promise<ProductionValueNames> {
  const path = join(source, SERVICES_FILE);
  try {
    return (await readServicesFile(resolve(env['GITHUB_WORKSPACE'] || process.cwd(), path), path)).values;
  } catch (error) {
    if (error instanceof ReleaseSourceError) return fail('source', error.message);
    throw error;
  }
}

function readGitHub(reader: InputReader, env: NodeJS.ProcessEnv): ProvisionSettings['github'] {
  const token = reader.secret('github-token');
  const environment = reader.optional('github-environment');
  if (token === undefined && environment === undefined) return undefined;
  if (token === undefined) return fail('github-token', 'is needed with github-environment (a token that may write environment secrets)');
  if (environment === undefined) return fail('github-environment', 'is needed with github-token (the environment whose secrets to set)');
  const repository = reader.optional('github-repository') ?? env.GITHUB_REPOSITORY ?? '';
  if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repository)) fail('github-repository', `${JSON.stringify(repository)} is not owner/name`);
  const apiUrl = reader.optional('github-api-url') ?? env.GITHUB_API_URL ?? 'https://api.github.com';
  const hostSecret = reader.optional('host-secret', 'PROD_SSH_HOST');
  const knownHostsSecret = reader.optional('known-hosts-secret', 'PROD_SSH_KNOWN_HOSTS');
  for (const [input, value] of [['host-secret', hostSecret], ['known-hosts-secret', knownHostsSecret]] as const) {
    if (!SECRET_NAME.test(value)) fail(input, `${JSON.stringify(value)} is not a secret name (A-Z, 0-9 and _)`);
  }
  const currentHost = reader.optional('current-host');
  const currentKnownHosts = reader.lines('current-known-hosts').join('\n');
  return {
    environment: { apiUrl, token, repository, environment },
    hostSecret,
    knownHostsSecret,
    ...(currentHost === undefined ? {} : { currentHost }),
    ...(currentKnownHosts === '' ? {} : { currentKnownHosts }),
  };
}

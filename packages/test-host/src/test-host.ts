/**
 * The test host: a stand-in for a Titan Droplet on 127.0.0.1 (sshd, Docker engine, registry, the
 * application directory), brought up by `scripts/test-host/up`, which describes it in
 * `${TITAN_TEST_HOST_DIR:-/var/tmp/titan-test-host}/host.json`. Integration tests load it from
 * here. Without a host they fail, with a message saying how to start one: they never skip.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Everything `scripts/test-host/up` writes to host.json. Paths are absolute. */
export interface TestHost {
  /** Always "127.0.0.1". */
  host: string;
  /** sshd port (2222 unless TITAN_TEST_HOST_SSH_PORT moved it). */
  port: number;
  /** The SSH user, "deploy" (member of group docker). */
  user: string;
  /** Ed25519 private key of the deploy user (OpenSSH format, no passphrase, mode 0600). */
  privateKeyPath: string;
  publicKeyPath: string;
  /** The known_hosts line of the host key, e.g. `[127.0.0.1]:2222 ssh-ed25519 AAAA...`. */
  knownHosts: string;
  /** A known_hosts file holding exactly `knownHosts`, for `ssh -o UserKnownHostsFile=`. */
  knownHostsPath: string;
  /** The host key's fingerprint as `ssh-keygen -lf` prints it: "SHA256:...". */
  hostKeyFingerprint: string;
  /** The host's public key file (`ssh-ed25519 AAAA... comment`). */
  hostKeyPath: string;
  sshdConfig: string;
  /** sshd log (LogLevel VERBOSE: one "Connection from" line per connection). */
  sshdLog: string;
  sshdPidFile: string;
  /** "127.0.0.1:5000": plain HTTP registry. */
  registry: string;
  /** "127.0.0.1:5000/titan": where the example's images live. */
  imagePrefix: string;
  /** The Docker engine's socket, "/var/run/docker.sock" (the deploy user's docker CLI uses it). */
  dockerSocket: string;
  /** The application directory, laid out as provisioning does it (releases/, shared/.env.prod, trust/, journal.jsonl). */
  appDir: string;
  /** File holding TITAN_RELEASE_KEY: base64 of a 32-byte Ed25519 seed (root-only). */
  releaseKeyPath: string;
  /** The release public key: base64 of its 32 raw bytes. */
  releasePublicKey: string;
  /** The release public key in PEM, installed in `${appDir}/trust/`. */
  releasePublicKeyPem: string;
  /** Key id of the release key, `ed25519-<16 hex>` as sign makes it (the base name of its PEM in trust/). */
  releaseKeyId: string;
  /** Absolute path of examples/titan, the sample release the images were built from. */
  example: string;
  /** Compose service name -> pushed image, "127.0.0.1:5000/titan/<image>@sha256:<hex>". */
  images: Record<string, string>;
  stateDir: string;
}

/** Directory of the test host's state: TITAN_TEST_HOST_DIR or /var/tmp/titan-test-host. */
export function testHostDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.TITAN_TEST_HOST_DIR;
  return dir !== undefined && dir !== '' ? dir : '/var/tmp/titan-test-host';
}

const STRING_FIELDS = [
  'host',
  'user',
  'privateKeyPath',
  'publicKeyPath',
  'knownHosts',
  'knownHostsPath',
  'hostKeyFingerprint',
  'hostKeyPath',
  'sshdConfig',
  'sshdLog',
  'sshdPidFile',
  'registry',
  'imagePrefix',
  'dockerSocket',
  'appDir',
  'releaseKeyPath',
  'releasePublicKey',
  'releasePublicKeyPem',
  'releaseKeyId',
  'example',
  'stateDir',
] as const satisfies readonly (keyof TestHost)[];

const IMAGE_REF = /^[^@\s]+@sha256:[0-9a-f]{64}$/;

/** Reads and checks host.json. Throws, saying to run scripts/test-host/up, when there is none. */
export function loadTestHost(env: NodeJS.ProcessEnv = process.env): TestHost {
  const file = path.join(testHostDir(env), 'host.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `No Titan test host: cannot read ${file} (${reason}). Start one with \`scripts/test-host/up\` (as root) ` +
        '(set TITAN_TEST_HOST_DIR if it lives elsewhere); integration tests need it and do not skip.',
      { cause: error },
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`${file} is not JSON (${reason}); run scripts/test-host/up again.`, { cause: error });
  }
  return parseTestHost(data, file);
}

/** Checks that `data` has every field of a TestHost with the right type; `source` names it in errors. */
export function parseTestHost(data: unknown, source = 'host.json'): TestHost {
  const problems: string[] = [];
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new Error(`${source}: expected a JSON object; run scripts/test-host/up again.`);
  }
  const record = data as Record<string, unknown>;
  for (const field of STRING_FIELDS) {
    if (typeof record[field] !== 'string' || record[field] === '') problems.push(`"${field}" must be a non-empty string`);
  }
  const port = record.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    problems.push('"port" must be a TCP port number');
  }
  const images = record.images;
  if (typeof images !== 'object' || images === null || Array.isArray(images)) {
    problems.push('"images" must be an object of service -> repo@sha256:...');
  } else {
    for (const [service, ref] of Object.entries(images as Record<string, unknown>)) {
      if (typeof ref !== 'string' || !IMAGE_REF.test(ref)) problems.push(`images["${service}"] must be repo@sha256:<64 hex>`);
    }
  }
  if (problems.length > 0) {
    throw new Error(`${source} is not a test host description: ${problems.join('; ')}. Run scripts/test-host/up again.`);
  }
  return record as unknown as TestHost;
}

/**
 * The release signing key in TITAN_RELEASE_KEY's format: base64 of the 32-byte Ed25519 seed. The
 * file is root-only; treat the value as a secret (never log it).
 */
export function readReleaseKey(host: TestHost): string {
  let value: string;
  try {
    value = readFileSync(host.releaseKeyPath, 'utf8').trim();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`cannot read the test host's release key ${host.releaseKeyPath} (${reason}); run scripts/test-host/up as root.`, {
      cause: error,
    });
  }
  if (Buffer.from(value, 'base64').length !== 32) {
    throw new Error(`${host.releaseKeyPath} does not hold base64 of a 32-byte Ed25519 seed; run scripts/test-host/up again.`);
  }
  return value;
}

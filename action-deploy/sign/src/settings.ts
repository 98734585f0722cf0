import { ConfigurationError } from '@titan/action-kit/configuration-error';
import { InputReader } from '@titan/action-kit/inputs';
import { nonEmpty, runUrl } from '@titan/action-kit/run-context';
import { maskSecret } from '@titan/action-kit/masking';
import { DigestError, parseDigestMap, parseServiceList, type DigestMap } from '@titan/release/image-digests';
import { registryProblem } from '@titan/release/image-reference';
import { KEY_ID_PATTERN } from '@titan/release/manifest';
import { GIT_SHA_PATTERN } from '@titan/release/release-id';
import {
  parsePublicKey,
  parseReleaseKey,
  publicKeyToBase64,
  releaseKeyId,
  samePublicKey,
  SigningKeyError,
  type ReleaseSigningKey,
} from '@titan/release/release-key';

export interface SignSettings {
  readonly signingKey: ReleaseSigningKey;
  /** A folder path, or a JSON map given inline. */
  readonly digests: string;
  readonly source: string;
  readonly services: readonly string[] | undefined;
  readonly reused: DigestMap | undefined;
  readonly registry: string | undefined;
  readonly keyId: string;
  readonly output: string;
  readonly git: { readonly sha: string; readonly ref: string };
  readonly runUrl: string;
}

/** action.yml's defaults, repeated for runs outside a runner (which apply none). */
export const DEFAULT_SOURCE = 'examples/titan';
export const DEFAULT_OUTPUT = 'release-bundle';

/**
 * The one reader of sign's inputs (and of the runner's GITHUB_* defaults). signing-key is read
 * first: with no inputs at all, it is the input the error names.
 */
export function readSettings(reader = new InputReader(), env: NodeJS.ProcessEnv = process.env): SignSettings {
  const signingKey = signingKeyInput(reader);
  const digests = reader.required('digests', "a folder of the build legs' digest files, or a JSON map service -> sha256:...");
  const expectedKey = reader.optional('public-key');
  if (expectedKey !== undefined) checkExpectedKey(signingKey, expectedKey);
  const keyId = reader.optional('key-id') ?? releaseKeyId(signingKey.publicKey);
  if (!KEY_ID_PATTERN.test(keyId)) {
    throw new ConfigurationError(`Input key-id "${keyId}" must match ${KEY_ID_PATTERN.source}`, { input: 'key-id' });
  }
  const registry = reader.optional('registry');
  const registryReason = registry === undefined ? undefined : registryProblem(registry);
  if (registryReason !== undefined) throw new ConfigurationError(`Input registry is not valid: ${registryReason}`, { input: 'registry' });
  const sha = reader.optional('git-sha') ?? nonEmpty(env['GITHUB_SHA']) ?? reader.required('git-sha', 'defaults to GITHUB_SHA, which only a runner sets');
  if (!GIT_SHA_PATTERN.test(sha)) {
    throw new ConfigurationError(`Input git-sha must be a full lower-case hex commit sha (40 digits), got "${sha}"`, { input: 'git-sha' });
  }
  return {
    signingKey,
    digests,
    source: reader.optional('source', DEFAULT_SOURCE),
    services: fromDigestError(() => {
      const list = reader.optional('services');
      return list === undefined ? undefined : parseServiceList(list);
    }),
    reused: fromDigestError(() => {
      const reused = reader.optional('reused');
      return reused === undefined ? undefined : parseDigestMap(reused, 'reused');
    }),
    registry,
    keyId,
    output: reader.optional('output', DEFAULT_OUTPUT),
    git: { sha, ref: reader.optional('git-ref') ?? env['GITHUB_REF'] ?? '' },
    runUrl: reader.optional('run-url') ?? runUrl(env),
  };
}

function signingKeyInput(reader: InputReader): ReleaseSigningKey {
  const text = reader.secret('signing-key', { required: true, hint: 'secrets.TITAN_RELEASE_KEY: base64 of a 32-byte Ed25519 seed' });
  let key: ReleaseSigningKey;
  try {
    key = parseReleaseKey(text);
  } catch (error: unknown) {
    if (error instanceof SigningKeyError) throw new ConfigurationError(`Input signing-key: ${error.message}`, { input: 'signing-key', cause: error });
    throw error;
  }
  // Every other spelling of the secret is masked too, should any ever reach a log.
  const secret = Buffer.from(key.secretKey);
  for (const form of [secret.toString('base64'), secret.toString('hex'), secret.subarray(0, 32).toString('base64'), secret.subarray(0, 32).toString('hex')]) {
    maskSecret(form);
  }
  return key;
}

function checkExpectedKey(signingKey: ReleaseSigningKey, expected: string): void {
  let publicKey: Uint8Array;
  try {
    publicKey = parsePublicKey(expected);
  } catch (error: unknown) {
    if (error instanceof SigningKeyError) throw new ConfigurationError(`Input public-key: ${error.message}`, { input: 'public-key', cause: error });
    throw error;
  }
  if (!samePublicKey(publicKey, signingKey.publicKey)) {
    throw new ConfigurationError(
      `Input signing-key does not match public-key: its public key is ${publicKeyToBase64(signingKey.publicKey)} ` +
        `(${releaseKeyId(signingKey.publicKey)}), the hosts trust ${publicKeyToBase64(publicKey)} (${releaseKeyId(publicKey)}). ` +
        'Hosts would refuse this release: sign with the key they were provisioned with, or provision the new public key first',
      { input: 'signing-key' },
    );
  }
}

function fromDigestError<T>(read: () => T): T {
  try {
    return read();
  } catch (error: unknown) {
    if (error instanceof DigestError) throw new ConfigurationError(`Input ${error.message}`, { input: error.origin, cause: error });
    throw error;
  }
}


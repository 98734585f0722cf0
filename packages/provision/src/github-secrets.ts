/**
 * The GitHub environment's deploy secrets (PROD_SSH_HOST, PROD_SSH_KNOWN_HOSTS, or the names the
 * workflow gives): encrypted for the repository's environment with a libsodium sealed box under the
 * environment's public key, as GitHub's API requires, and written only when the value differs from
 * the one the workflow passed in as current (GitHub never returns a secret's value).
 */
import sodium from 'libsodium-wrappers';
import type { Logger } from '@titan/log/logger';
import { change, type ResourceChange } from './resource-change.js';

export interface GitHubEnvironment {
  /** https://api.github.com (or a GitHub Enterprise API URL). */
  readonly apiUrl: string;
  readonly token: string;
  /** owner/name */
  readonly repository: string;
  readonly environment: string;
}

export interface SecretToSet {
  readonly name: string;
  readonly value: string;
  /** The value the workflow says the secret holds now (from `secrets.NAME`); equal means no write. */
  readonly current: string | undefined;
}

export class GitHubApiError extends Error {
  override readonly name = 'GitHubApiError';
}

async function call(env: GitHubEnvironment, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${env.apiUrl.replace(/\/$/, '')}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${env.token}`,
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
      'user-agent': 'titan-actions',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (!response.ok) {
    const hint = response.status === 401 || response.status === 403
      ? 'the token needs the "secrets: write" permission on the repository (a fine-grained token with Secrets read and write, or a GitHub App token)'
      : response.status === 404 ? `check the repository ${env.repository} and that the environment ${env.environment} exists` : 'run again';
    throw new GitHubApiError(`${method} ${path}: GitHub answered ${response.status} ${text.slice(0, 200)}; ${hint}`);
  }
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

function encodeSegment(value: string): string {
  return encodeURIComponent(value);
}

/** A sealed box of `value` for the base64 public key, base64 (what the API calls encrypted_value). */
export async function sealSecret(value: string, publicKeyBase64: string): Promise<string> {
  await sodium.ready;
  const key = sodium.from_base64(publicKeyBase64, sodium.base64_variants.ORIGINAL);
  return sodium.to_base64(sodium.crypto_box_seal(sodium.from_string(value), key), sodium.base64_variants.ORIGINAL);
}

export function inspectSecrets(env: GitHubEnvironment, secrets: readonly SecretToSet[]): ResourceChange[] {
  return secrets.map((s) => change(`secret ${s.name}`, `${env.repository}/${env.environment}`, s.current === s.value ? 'unchanged' : s.current === undefined ? 'create' : 'change', s.current === s.value ? [] : ['sealed-box encrypted for the environment']));
}

export async function writeSecrets(env: GitHubEnvironment, secrets: readonly SecretToSet[], record: (c: ResourceChange) => ResourceChange, logger: Logger): Promise<void> {
  const changes = inspectSecrets(env, secrets);
  if (changes.every((c) => c.kind === 'unchanged')) {
    changes.forEach(record);
    return;
  }
  const [owner, repo] = env.repository.split('/');
  const base = `/repos/${encodeSegment(owner ?? '')}/${encodeSegment(repo ?? '')}/environments/${encodeSegment(env.environment)}/secrets`;
  const key = (await call(env, 'GET', `${base}/public-key`)) as { key_id?: string; key?: string };
  if (typeof key.key !== 'string' || typeof key.key_id !== 'string') throw new GitHubApiError(`GET ${base}/public-key: no key in the answer`);
  for (const [index, secret] of secrets.entries()) {
    const c = record(changes[index] ?? change(`secret ${secret.name}`, env.environment, 'change'));
    if (c.kind === 'unchanged') continue;
    await call(env, 'PUT', `${base}/${encodeSegment(secret.name)}`, { encrypted_value: await sealSecret(secret.value, key.key), key_id: key.key_id });
    c.applied = true;
    logger.info(`set the ${env.environment} environment's secret ${secret.name}`);
  }
}

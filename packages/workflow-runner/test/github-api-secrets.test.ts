import sodium from 'libsodium-wrappers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHubApiStandIn, type GitHubApiStandIn } from '@titan/workflow-runner/github-api';

/**
 * The GitHub API stand-in's environment secrets, as GitHub's API takes them: a public key per
 * environment, values sealed for it (libsodium sealed box) with its key_id; a job's GITHUB_TOKEN
 * cannot write them, a token with `secrets: write` can.
 */
describe('the GitHub API stand-in: environment secrets', () => {
  let api: GitHubApiStandIn;
  const base = '/repos/titan/titan/environments/recovery/secrets';
  const call = async (token: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
    const response = await fetch(`${api.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await response.text();
    return { status: response.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
  };
  const seal = (value: string, key: string): string =>
    sodium.to_base64(sodium.crypto_box_seal(sodium.from_string(value), sodium.from_base64(key, sodium.base64_variants.ORIGINAL)), sodium.base64_variants.ORIGINAL);

  beforeAll(async () => {
    await sodium.ready;
    api = await startGitHubApiStandIn();
  });
  afterAll(() => api.close());

  it('opens a value sealed for the environment key; refuses a stale key id, an unsealed value and a token without secrets: write', async () => {
    const writer = api.issueToken({ secrets: 'write' }, 'operator');
    const job = api.issueToken({ contents: 'read', deployments: 'write' }, '1');
    const { status, json } = await call(writer, 'GET', `${base}/public-key`);
    expect(status).toBe(200);
    const key = String(json['key']);
    const keyId = String(json['key_id']);
    expect(sodium.from_base64(key, sodium.base64_variants.ORIGINAL)).toHaveLength(32);

    expect((await call(writer, 'PUT', `${base}/TITAN_SSH_HOST`, { encrypted_value: seal('203.0.113.7', key), key_id: keyId })).status).toBe(201);
    expect((await call(writer, 'PUT', `${base}/TITAN_SSH_HOST`, { encrypted_value: seal('203.0.113.8', key), key_id: keyId })).status).toBe(204);
    expect((await call(writer, 'PUT', `${base}/TITAN_KNOWN_HOSTS`, { encrypted_value: seal('x', key), key_id: '1' })).status).toBe(422);
    expect((await call(writer, 'PUT', `${base}/TITAN_KNOWN_HOSTS`, { encrypted_value: Buffer.from('plain').toString('base64'), key_id: keyId })).status).toBe(422);
    expect((await call(job, 'PUT', `${base}/TITAN_KNOWN_HOSTS`, { encrypted_value: seal('x', key), key_id: keyId })).status).toBe(403);
    expect(api.refusals).toEqual(['PUT /repos/titan/titan/environments/recovery/secrets/TITAN_KNOWN_HOSTS needs secrets: write']);
    // Another environment has a key of its own: a box sealed for recovery's does not open there.
    const other = await call(writer, 'GET', '/repos/titan/titan/environments/production/secrets/public-key');
    expect(other.json['key']).not.toBe(key);
    expect((await call(writer, 'PUT', '/repos/titan/titan/environments/production/secrets/TITAN_SSH_HOST', { encrypted_value: seal('x', key), key_id: other.json['key_id'] })).status).toBe(422);

    expect(api.secretWrites.map((w) => [w.environment, w.name, w.value])).toEqual([
      ['recovery', 'TITAN_SSH_HOST', '203.0.113.7'],
      ['recovery', 'TITAN_SSH_HOST', '203.0.113.8'],
    ]);
  });
});

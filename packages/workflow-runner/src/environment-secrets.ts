/**
 * Environment secrets as GitHub's REST API takes them: the stand-in (github-api.ts) holds a real
 * libsodium key pair per environment, hands out the public half (GET
 * .../environments/ENV/secrets/public-key) and opens each sealed box it is sent (PUT
 * .../secrets/NAME with encrypted_value and key_id, as GitHub's API requires them; anything else is
 * answered 422), so a test reads what GitHub would store. Writing secrets takes a token with
 * `secrets: write` (a fine-grained token or a GitHub App's; never a job's GITHUB_TOKEN).
 */
import { randomBytes } from 'node:crypto';
import sodium from 'libsodium-wrappers';
import { type Route, str } from './github-route.js';

export interface SecretWrite {
  readonly environment: string;
  readonly name: string;
  /** The value the sealed box held, opened with the environment's private key. */
  readonly value: string;
  readonly keyId: string;
}

interface KeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

/** The two routes of environment secrets; every secret written is appended, opened, to `secretWrites`. */
export async function environmentSecretRoutes(secretWrites: SecretWrite[]): Promise<Route[]> {
  await sodium.ready;
  const environmentKeys = new Map<string, { keyId: string; pair: KeyPair }>();
  const environmentKey = (environment: string): { keyId: string; pair: KeyPair } => {
    const known = environmentKeys.get(environment);
    if (known !== undefined) return known;
    const key = { keyId: String(randomBytes(6).readUIntBE(0, 6)), pair: sodium.crypto_box_keypair() };
    environmentKeys.set(environment, key);
    return key;
  };
  return [
    {
      method: 'GET',
      pattern: /^\/repos\/[^/]+\/[^/]+\/environments\/([^/]+)\/secrets\/public-key$/,
      scope: 'secrets',
      level: 'read',
      handle: (m) => {
        const key = environmentKey(decodeURIComponent(m[1] ?? ''));
        return [200, { key_id: key.keyId, key: sodium.to_base64(key.pair.publicKey, sodium.base64_variants.ORIGINAL) }];
      },
    },
    {
      method: 'PUT',
      pattern: /^\/repos\/[^/]+\/[^/]+\/environments\/([^/]+)\/secrets\/([A-Za-z_][A-Za-z0-9_]*)$/,
      scope: 'secrets',
      level: 'write',
      handle: (m, body) => {
        const environment = decodeURIComponent(m[1] ?? '');
        const name = m[2] ?? '';
        const key = environmentKeys.get(environment);
        const sealed = str(body['encrypted_value']);
        if (key === undefined || str(body['key_id']) !== key.keyId || sealed === undefined) {
          return [422, { message: 'Invalid request: encrypted_value and the key_id of the environment public key are required' }];
        }
        let value: string;
        try {
          value = sodium.to_string(sodium.crypto_box_seal_open(sodium.from_base64(sealed, sodium.base64_variants.ORIGINAL), key.pair.publicKey, key.pair.privateKey));
        } catch {
          return [422, { message: 'encrypted_value is not a sealed box for the environment public key' }];
        }
        const existed = secretWrites.some((w) => w.environment === environment && w.name === name);
        secretWrites.push({ environment, name, value, keyId: key.keyId });
        return [existed ? 204 : 201, existed ? undefined : {}];
      },
    },
  ];
}

/**
 * A local stand-in for GitHub's environment secrets API: it holds a real libsodium key pair, hands
 * out the public half (GET .../secrets/public-key) and opens every sealed secret it is sent with
 * the private half (PUT .../secrets/NAME), so a test reads back exactly what GitHub would store.
 * Any token but the one it was started with is answered 401.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import sodium from 'libsodium-wrappers';

export interface GitHubSecretsDouble {
  readonly url: string;
  /** `owner/repo/environment/NAME` → the decrypted value. */
  readonly secrets: Map<string, string>;
  readonly calls: string[];
  close(): Promise<void>;
}

export async function startGitHubSecretsDouble(token: string): Promise<GitHubSecretsDouble> {
  await sodium.ready;
  const pair = sodium.crypto_box_keypair();
  const keyId = '3380204578043523366';
  const secrets = new Map<string, string>();
  const calls: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '';
      calls.push(`${req.method ?? ''} ${url}`);
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(body === undefined ? '' : JSON.stringify(body));
      };
      if (req.headers.authorization !== `Bearer ${token}`) return send(401, { message: 'Bad credentials' });
      const key = /^\/repos\/([^/]+)\/([^/]+)\/environments\/([^/]+)\/secrets\/public-key$/.exec(url);
      if (req.method === 'GET' && key !== null) return send(200, { key_id: keyId, key: sodium.to_base64(pair.publicKey, sodium.base64_variants.ORIGINAL) });
      const put = /^\/repos\/([^/]+)\/([^/]+)\/environments\/([^/]+)\/secrets\/([A-Z0-9_]+)$/.exec(url);
      if (req.method === 'PUT' && put !== null) {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { encrypted_value?: string; key_id?: string };
        if (body.key_id !== keyId || typeof body.encrypted_value !== 'string') return send(422, { message: 'key_id or encrypted_value missing or stale' });
        const opened = sodium.crypto_box_seal_open(sodium.from_base64(body.encrypted_value, sodium.base64_variants.ORIGINAL), pair.publicKey, pair.privateKey);
        const name = `${put[1] ?? ''}/${put[2] ?? ''}/${decodeURIComponent(put[3] ?? '')}/${put[4] ?? ''}`;
        const existed = secrets.has(name);
        secrets.set(name, sodium.to_string(opened));
        return send(existed ? 204 : 201, undefined);
      }
      return send(404, { message: 'Not Found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    secrets,
    calls,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

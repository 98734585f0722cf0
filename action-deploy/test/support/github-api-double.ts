/**
 * A stand-in for the GitHub REST API on 127.0.0.1 (GITHUB_API_URL points the action at it): it
 * answers the deployment calls and records what the action sent.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  authorization: string | undefined;
  body: Record<string, unknown>;
}

export interface GitHubApiDouble {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startGitHubApiDouble(): Promise<GitHubApiDouble> {
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
    });
    req.on('end', () => {
      let body: Record<string, unknown>;
      try {
        body = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
      } catch {
        body = { unparsable: text };
      }
      requests.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body });
      res.setHeader('content-type', 'application/json');
      if (req.method === 'POST' && /^\/repos\/[^/]+\/[^/]+\/deployments$/.test(req.url ?? '')) {
        res.statusCode = 201;
        res.end(JSON.stringify({ id: 4711, environment: body['environment'] }));
      } else if (req.method === 'POST' && /\/deployments\/4711\/statuses$/.test(req.url ?? '')) {
        res.statusCode = 201;
        res.end(JSON.stringify({ id: 1, state: body['state'] }));
      } else {
        res.statusCode = 404;
        res.end(JSON.stringify({ message: 'Not Found' }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

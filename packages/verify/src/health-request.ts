/**
 * An HTTP/1.1 GET of a health document over a stream the caller opens: an SSH direct-tcpip tunnel
 * to an address as the host sees it. No curl on the host, nothing in the images, no container IP:
 * the request leaves the runner inside the SSH connection and arrives at the host's loopback.
 */
import { request as httpRequest } from 'node:http';
import type { Duplex } from 'node:stream';

export interface HealthTarget {
  /** As the host sees it: `127.0.0.1` (or `::1`). */
  readonly host: string;
  readonly port: number;
  readonly path: string;
}

export interface HealthResponse {
  /** The HTTP status, when a response arrived. */
  readonly statusCode?: number;
  /** The body as text, cut at MAX_BODY_BYTES. */
  readonly body?: string;
  /** Why no response arrived (tunnel refused, timeout, connection reset, ...). */
  readonly problem?: string;
  readonly durationMs: number;
}

export type OpenTunnel = (host: string, port: number) => Promise<Duplex>;

export const MAX_BODY_BYTES = 64 * 1024;

export async function requestHealth(
  openTunnel: OpenTunnel,
  target: HealthTarget,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<HealthResponse> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  let stream: Duplex;
  try {
    stream = await openWithin(openTunnel, target, timeoutMs);
  } catch (error: unknown) {
    return { problem: describe(error), durationMs: elapsed() };
  }
  try {
    return await new Promise<HealthResponse>((resolve) => {
      let settled = false;
      const settle = (response: Omit<HealthResponse, 'durationMs'>): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve({ ...response, durationMs: elapsed() });
      };
      const hostHeader = target.host.includes(':') ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
      const req = httpRequest({
        method: 'GET',
        host: target.host,
        port: target.port,
        path: target.path,
        headers: { Host: hostHeader, Accept: 'application/json', Connection: 'close', 'User-Agent': 'titan-verify' },
        // The tunnel stands in for the TCP socket; node:http only reads and writes it.
        createConnection: () => stream,
      });
      const timer = setTimeout(() => {
        settle({ problem: `no answer within ${timeoutMs} ms` });
        req.destroy();
      }, timeoutMs);
      const onAbort = (): void => {
        settle({ problem: 'aborted' });
        req.destroy();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (error: Error) => settle({ problem: describe(error) }));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < MAX_BODY_BYTES) chunks.push(chunk.subarray(0, MAX_BODY_BYTES - size));
          size += chunk.length;
        });
        res.on('end', () => settle({ statusCode: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (error: Error) => settle({ problem: describe(error) }));
      });
      req.end();
    });
  } finally {
    stream.destroy();
  }
}

/** Opens the tunnel, giving up after `ms`; a tunnel that opens after that is closed at once. */
function openWithin(openTunnel: OpenTunnel, target: HealthTarget, ms: number): Promise<Duplex> {
  return new Promise<Duplex>((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      reject(new Error(`opening the tunnel to ${target.host}:${target.port} took longer than ${ms} ms`));
    }, ms);
    openTunnel(target.host, target.port).then(
      (stream) => {
        clearTimeout(timer);
        if (timedOut) stream.destroy();
        else resolve(stream);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

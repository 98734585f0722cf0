/**
 * The S3 client for DigitalOcean Spaces (or any S3-compatible store), configured the way Spaces and
 * S3-compatible peers need it:
 *
 *  - `requestChecksumCalculation` and `responseChecksumValidation` are `WHEN_REQUIRED`: the SDK's
 *    default (a trailing CRC32 on every streamed upload, aws-chunked encoding) is not understood by
 *    every S3-compatible store, and one was seen storing such an upload corrupted while answering 200;
 *  - instead, every request with a body carries a `Content-MD5` header (the classic S3 integrity
 *    check that Spaces and every S3-compatible store verify, answering BadDigest on a mismatch):
 *    each part of a multipart upload is checked by the store as it arrives;
 *  - retries: the SDK's standard mode (exponential backoff with jitter) on 5xx, throttling and
 *    connection errors, `maxAttempts` in all;
 *  - timeouts: connecting and each request (no answer for that long) are bounded.
 *
 * End to end, the backup also hashes every object (sha256) as it streams and records it in the
 * backup manifest; a restore checks it again before anything is used.
 */
import { createHash } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface SpacesCredentials {
  readonly accessKeyId: string;
  /** Never logged. */
  readonly secretAccessKey: string;
}

export interface SpacesClientOptions {
  /** `https://fra1.digitaloceanspaces.com`, or a test peer's `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  /** Spaces accepts `us-east-1` for every datacenter; the endpoint picks the datacenter. */
  readonly region: string;
  readonly credentials: SpacesCredentials;
  /** Path-style addressing (`endpoint/bucket/key`): needed by peers without virtual-hosted buckets. */
  readonly forcePathStyle?: boolean;
  /** Attempts per request, the first included (default 4). */
  readonly maxAttempts?: number;
  /** Milliseconds to connect (default 10 s). */
  readonly connectionTimeoutMs?: number;
  /** Milliseconds a request may go without an answer (default 120 s). */
  readonly requestTimeoutMs?: number;
}

export function createSpacesClient(options: SpacesClientOptions): S3Client {
  const client = new S3Client({
    endpoint: options.endpoint,
    region: options.region,
    forcePathStyle: options.forcePathStyle ?? false,
    credentials: { accessKeyId: options.credentials.accessKeyId, secretAccessKey: options.credentials.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: options.maxAttempts ?? 4,
    retryMode: 'standard',
    requestHandler: new NodeHttpHandler({
      connectionTimeout: options.connectionTimeoutMs ?? 10_000,
      requestTimeout: options.requestTimeoutMs ?? 120_000,
    }),
  });
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { body?: unknown; headers?: Record<string, string> };
      const body = request.body;
      const headers = request.headers;
      if (headers !== undefined && !hasHeader(headers, 'content-md5')) {
        const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body instanceof Uint8Array ? body : undefined;
        if (bytes !== undefined && bytes.length > 0) headers['content-md5'] = createHash('md5').update(bytes).digest('base64');
      }
      return next(args);
    },
    { step: 'build', name: 'titanContentMd5', priority: 'low' },
  );
  return client;
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((key) => key.toLowerCase() === name);
}

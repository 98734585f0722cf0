/**
 * Spaces for the tests: s3rver (an S3 protocol peer from npm, objects on disk) behind a front that
 * behaves as Spaces does where s3rver does not, and that can fail on purpose:
 *
 *  - it checks every request's `Content-MD5` against the bytes that arrived and answers 400
 *    BadDigest on a mismatch, as Spaces and S3 do (s3rver stores whatever it gets);
 *  - it records every request (method, key, query, part number, size, whether a Content-MD5 came and
 *    matched), so tests see multipart uploads, their parts, retries and aborts;
 *  - `failNext(rule)` answers matching requests with a real HTTP error (500 InternalError, 503
 *    SlowDown, ...) a number of times before letting them through again;
 *  - `corrupt(key)` flips bytes of a stored object on disk (damage at rest; s3rver's disk: spaces-store.ts);
 *  - it answers AbortMultipartUpload (DELETE ?uploadId=), which s3rver does not implement (405), by
 *    removing the upload's parts from s3rver's disk as S3 does; `pendingUploads()` lists the
 *    multipart uploads still open.
 *
 * s3rver itself refuses an unknown access key (403 InvalidAccessKeyId) and answers NoSuchBucket for
 * a bucket it does not have. Credentials: S3RVER / S3RVER. Everything listens on 127.0.0.1.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { SpacesStore } from './spaces-store.js';

/** The part of s3rver's API (CommonJS, no types of its own) used here. */
interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
  httpServer?: Server;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  vhostBuckets: boolean;
  configureBuckets: { name: string }[];
}) => S3rverInstance;
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;

export interface SpacesRequest {
  readonly method: string;
  /** Path below the bucket, decoded: the object key ('' for bucket requests). */
  readonly key: string;
  readonly bucket: string;
  readonly query: Readonly<Record<string, string>>;
  readonly partNumber: number | undefined;
  readonly bytes: number;
  /** undefined: no Content-MD5 came; true/false: it matched the body or not. */
  readonly md5Matched: boolean | undefined;
  /** What the front answered itself (a fault or BadDigest), or undefined when s3rver answered. */
  readonly injected: number | undefined;
  /** The status returned to the client. */
  status: number;
  /** The keys a DeleteObjects request named, in its order. */
  readonly deleted?: readonly string[];
}

export interface FaultRule {
  readonly when: (request: SpacesRequest) => boolean;
  readonly status: number;
  readonly code?: string;
  /** How many matching requests fail (default 1). */
  readonly times?: number;
}

export interface SpacesPeer {
  /** http://127.0.0.1:PORT (the front). */
  readonly endpoint: string;
  readonly bucket: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Requests seen by the front, oldest first. */
  readonly requests: SpacesRequest[];
  failNext(rule: FaultRule): void;
  clearFaults(): void;
  /** Flips `count` bytes of the stored object from `offset` on (its bytes on s3rver's disk). */
  corrupt(key: string, offset?: number, count?: number): void;
  /** Multipart uploads begun and neither completed nor aborted (their ids). */
  pendingUploads(): string[];
  /** Keys s3rver holds in the bucket (from its files), sorted. */
  storedKeys(): string[];
  close(): Promise<void>;
}

export async function startSpacesPeer(options: { bucket?: string; extraBuckets?: string[] } = {}): Promise<SpacesPeer> {
  const bucket = options.bucket ?? 'titan-backups';
  const directory = mkdtempSync(join(tmpdir(), 'titan-spaces-'));
  const s3 = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    vhostBuckets: false,
    configureBuckets: [{ name: bucket }, ...(options.extraBuckets ?? []).map((name) => ({ name }))],
  });
  const { port: backendPort } = await s3.run();
  const store = new SpacesStore(directory);
  const requests: SpacesRequest[] = [];
  const faults: { rule: FaultRule; left: number }[] = [];

  const front: Server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://front');
    const [, bucketName = '', ...keyParts] = url.pathname.split('/');
    const query = Object.fromEntries(url.searchParams.entries());
    const md5 = header(req, 'content-md5');
    const record: SpacesRequest = {
      method: req.method ?? 'GET',
      bucket: decodeURIComponent(bucketName),
      key: decodeURIComponent(keyParts.join('/')),
      query,
      partNumber: query['partNumber'] !== undefined ? Number(query['partNumber']) : undefined,
      bytes: body.length,
      md5Matched: md5 === undefined ? undefined : createHash('md5').update(body).digest('base64') === md5,
      injected: undefined,
      status: 0,
      ...(req.method === 'POST' && query['delete'] !== undefined ? { deleted: [...body.toString('utf8').matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1] ?? '') } : {}),
    };
    requests.push(record);
    const fault = faults.find((f) => f.left > 0 && f.rule.when(record));
    if (fault !== undefined) {
      fault.left -= 1;
      reply(res, record, fault.rule.status, fault.rule.code ?? (fault.rule.status === 503 ? 'SlowDown' : 'InternalError'), 'injected by the test');
      return;
    }
    if (record.method === 'DELETE' && query['uploadId'] !== undefined) {
      abortUpload(record, query['uploadId'], res);
      return;
    }
    if (record.md5Matched === false) {
      reply(res, record, 400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
      return;
    }
    await forward(req, body, res, record);
  }

  function forward(req: IncomingMessage, body: Buffer, res: ServerResponse, record: SpacesRequest): Promise<void> {
    return new Promise((resolve, reject) => {
      const headers = { ...req.headers };
      delete headers['transfer-encoding'];
      headers['content-length'] = String(body.length);
      const upstream = httpRequest(
        { host: '127.0.0.1', port: backendPort, method: req.method, path: req.url, headers, agent: false },
        (answer) => {
          record.status = answer.statusCode ?? 0;
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          answer.on('end', () => resolve());
          answer.on('error', reject);
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });
  }

  function abortUpload(record: SpacesRequest, uploadId: string, res: ServerResponse): void {
    if (!store.removeUpload(record.bucket, uploadId)) {
      reply(res, record, 404, 'NoSuchUpload', 'The specified multipart upload does not exist.');
      return;
    }
    record.status = 204;
    res.writeHead(204);
    res.end();
  }

  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', () => resolve()));
  const port = (front.address() as AddressInfo).port;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    region: 'us-east-1',
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    requests,
    failNext(rule) {
      faults.push({ rule, left: rule.times ?? 1 });
    },
    clearFaults() {
      faults.length = 0;
    },
    corrupt(key, offset = 4096, count = 16) {
      store.corrupt(bucket, key, offset, count);
    },
    pendingUploads: () => store.pendingUploads(bucket),
    storedKeys: () => store.storedKeys(bucket),
    async close() {
      await new Promise<void>((resolve) => {
        front.closeAllConnections();
        front.close(() => resolve());
      });
      s3.httpServer?.closeAllConnections();
      await s3.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function reply(res: ServerResponse, record: SpacesRequest, status: number, code: string, message: string): void {
  (record as { injected: number | undefined }).injected = status;
  record.status = status;
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><Resource>/${record.bucket}/${record.key}</Resource><RequestId>titan-test</RequestId></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': String(Buffer.byteLength(xml)) });
  res.end(xml);
}

/**
 * A local stand-in for DigitalOcean's API, for tests and benchmarks: an HTTP server on 127.0.0.1
 * whose EVERY request and answer is validated against DigitalOcean's OpenAPI spec (openapi-backend,
 * Ajv): a request the real API would refuse is answered 400 and recorded as a violation, and an
 * answer of the double's own that breaks the spec is recorded too; `assertValid()` fails the test on
 * either. It records every call so a test can assert what was written (`writes()`), and injects
 * faults: a refused token (401), 429 with `retry-after` mid-run, 5xx, actions that end "errored",
 * Droplets that never become active.
 *
 *   const double = await DigitalOceanApiDouble.start({ token });
 *   const client = createDigitalOceanClient({ token, logger, baseUrl: double.url });
 *   ...
 *   double.assertValid();
 *   expect(double.writes()).toEqual([]);
 *   await double.close();
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import addFormats from 'ajv-formats';
import { OpenAPIBackend, SetMatchType, type Document } from 'openapi-backend';
import { DoubleWorld, type Answer, type WorldOptions } from './api-double-world.js';

export const SPEC_PATH = fileURLToPath(new URL('../spec/digitalocean-api.json', import.meta.url));

export interface RecordedCall {
  readonly method: string;
  /** The path with its query string. */
  readonly url: string;
  readonly operationId: string;
  readonly status: number;
  readonly requestBody: unknown;
}

export interface InjectedFault {
  /** Only requests of this operation (any when absent). */
  readonly operationId?: string;
  /** Only after this many requests of the run have been answered (0). */
  readonly afterRequests?: number;
  /** How many requests it hits (1). */
  readonly times?: number;
  readonly status: number;
  /** For 429: the `retry-after` seconds (1). */
  readonly retryAfterSeconds?: number;
}

export interface ApiDoubleOptions extends Partial<WorldOptions> {
  /** The one token the double accepts; any other is answered 401. */
  readonly token: string;
  /** Domains the account holds (DNS zones). */
  readonly domains?: readonly string[];
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export class DigitalOceanApiDouble {
  readonly calls: RecordedCall[] = [];
  readonly violations: string[] = [];
  readonly world: DoubleWorld;
  url = '';
  private readonly faults: { fault: InjectedFault; left: number }[] = [];
  private answered = 0;
  private remaining = 5000;
  private server: Server | undefined;

  private readonly api: OpenAPIBackend;
  private readonly options: ApiDoubleOptions;
  private constructor(api: OpenAPIBackend, options: ApiDoubleOptions) {
    this.api = api;
    this.options = options;
    this.world = new DoubleWorld({
      regions: options.regions ?? { nyc3: ['s-1vcpu-2gb', 's-2vcpu-4gb', 's-4vcpu-8gb'], fra1: ['s-1vcpu-2gb', 's-2vcpu-4gb'], sgp1: ['s-1vcpu-2gb'] },
      images: options.images ?? ['debian-12-x64', 'debian-13-x64', 'ubuntu-24-04-x64'],
      actionPolls: options.actionPolls ?? 1,
      dropletAddress: options.dropletAddress ?? ((i) => `192.0.2.${10 + i}`),
      dropletAddressV6: options.dropletAddressV6 ?? ((i) => `2001:db8::${(10 + i).toString(16)}`),
    });
    for (const domain of options.domains ?? []) this.world.addDomain(domain);
  }

  static async start(options: ApiDoubleOptions): Promise<DigitalOceanApiDouble> {
    const definition = JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as Document;
    const api = new OpenAPIBackend({
      definition,
      quick: false,
      validate: true,
      coerceTypes: true,
      ajvOpts: { strict: false, allErrors: true },
      customizeAjv: (ajv) => {
        addFormats.default(ajv);
        return ajv;
      },
    });
    await api.init();
    const double = new DigitalOceanApiDouble(api, options);
    const server = createServer((req, res) => void double.serve(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    double.server = server;
    double.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return double;
  }

  /** Answers the next matching requests with `status` (a 429 carries `retry-after`). */
  inject(fault: InjectedFault): void {
    this.faults.push({ fault, left: fault.times ?? 1 });
  }

  /** The calls that could change something (POST, PUT, PATCH, DELETE). */
  writes(): RecordedCall[] {
    return this.calls.filter((c) => WRITE_METHODS.has(c.method));
  }

  resetCalls(): void {
    this.calls.length = 0;
  }

  /** Fails when a request broke the spec or an answer of the double did. */
  assertValid(): void {
    if (this.violations.length > 0) throw new Error(`the DigitalOcean API double saw ${this.violations.length} violation(s) of the spec:\n${this.violations.join('\n')}`);
  }

  async close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', this.url);
    const method = (req.method ?? 'GET').toUpperCase();
    const query: Record<string, string | string[]> = {};
    for (const key of new Set(url.searchParams.keys())) {
      const all = url.searchParams.getAll(key);
      query[key] = all.length === 1 ? (all[0] as string) : all;
    }
    let body: unknown;
    try {
      body = raw === '' ? undefined : JSON.parse(raw);
    } catch {
      body = raw;
    }
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
    const request = { method: method.toLowerCase(), path: url.pathname, query, headers, body };
    const operation = this.api.router.matchOperation(request);
    const operationId = operation?.operationId ?? 'unknown';
    let answer: Answer;
    if (operation === undefined) {
      this.violations.push(`${method} ${url.pathname}: no such operation in the spec`);
      answer = { status: 404, body: { id: 'not_found', message: 'no such operation' } };
    } else if (headers.authorization !== `Bearer ${this.options.token}`) {
      answer = { status: 401, body: { id: 'Unauthorized', message: 'Unable to authenticate you' } };
    } else {
      const validation = this.api.validateRequest(request, operation);
      if (!validation.valid) {
        const detail = (validation.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`).join('; ');
        this.violations.push(`${method} ${url.pathname}${url.search}: the request breaks the spec: ${detail}`);
        answer = { status: 400, body: { id: 'bad_request', message: detail } };
      } else {
        answer = this.injected(operationId) ?? this.world.handle({ operationId, path: stringRecord(this.api.router.parseRequest(request, operation).params as Record<string, unknown>), query, body, baseUrl: this.url });
      }
    }
    this.answered++;
    this.remaining = Math.max(0, this.remaining - 1);
    const responseHeaders: Record<string, number | string> = {
      'ratelimit-limit': 5000,
      'ratelimit-remaining': this.remaining,
      'ratelimit-reset': Math.floor(Date.now() / 1000) + 60,
    };
    if (answer.status === 429) {
      responseHeaders['retry-after'] = (answer as Answer & { retryAfter?: number }).retryAfter ?? 1;
      responseHeaders['ratelimit-remaining'] = 0;
    }
    if (operation !== undefined) this.validateAnswer(method, url.pathname, operation, answer, responseHeaders);
    this.calls.push({ method, url: `${url.pathname}${url.search}`, operationId, status: answer.status, requestBody: body });
    const text = answer.body === undefined ? '' : JSON.stringify(answer.body);
    res.writeHead(answer.status, {
      ...Object.fromEntries(Object.entries(responseHeaders).map(([k, v]) => [k, String(v)])),
      ...(text === '' ? {} : { 'content-type': 'application/json; charset=utf-8' }),
    });
    res.end(text);
  }

  private injected(operationId: string): (Answer & { retryAfter?: number }) | undefined {
    for (const entry of this.faults) {
      const { fault } = entry;
      if (entry.left <= 0 || (fault.operationId !== undefined && fault.operationId !== operationId) || this.answered < (fault.afterRequests ?? 0)) continue;
      entry.left--;
      const id = fault.status === 429 ? 'too_many_requests' : fault.status === 401 ? 'Unauthorized' : fault.status >= 500 ? 'server_error' : 'error';
      const message = fault.status === 429 ? 'API rate limit exceeded.' : fault.status >= 500 ? 'Server was unable to give you a response.' : 'injected fault';
      return { status: fault.status, body: { id, message }, retryAfter: fault.retryAfterSeconds ?? 1 };
    }
    return undefined;
  }

  private validateAnswer(method: string, path: string, operation: Parameters<OpenAPIBackend['validateResponse']>[1], answer: Answer, headers: Record<string, number | string>): void {
    const declared = Object.keys((operation as { responses?: Record<string, unknown> }).responses ?? {});
    if (!declared.includes(String(answer.status)) && !declared.includes('default')) {
      this.violations.push(`${method} ${path}: the double answered ${answer.status}, which the spec does not declare (${declared.join(', ')})`);
      return;
    }
    if (answer.body !== undefined) {
      const body = this.api.validateResponse(JSON.parse(JSON.stringify(answer.body)), operation, answer.status);
      if (!body.valid) this.violations.push(`${method} ${path}: the double's ${answer.status} answer breaks the spec: ${(body.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`).join('; ')}`);
    }
    const head = this.api.validateResponseHeaders(headers, operation, { statusCode: answer.status, setMatchType: SetMatchType.Superset });
    if (!head.valid) this.violations.push(`${method} ${path}: the double's ${answer.status} headers break the spec: ${(head.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`).join('; ')}`);
  }
}

function stringRecord(params: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)]));
}

import { recordingLogger } from '@titan/log/logger';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DigitalOceanApiError, DigitalOceanRateLimitError, DigitalOceanUnreachableError } from '../src/api-error.js';
import { ActionFailedError, PollTimeoutError, pollUntil, waitForAction } from '../src/action-wait.js';
import { DigitalOceanApiDouble } from '../src/api-double.js';
import { createDigitalOceanClient, expectData, expectOk } from '../src/client.js';
import { listAll } from '../src/pagination.js';

const TOKEN = `dop_v1_${'ab'.repeat(32)}`;
let double: DigitalOceanApiDouble;

beforeAll(async () => {
  double = await DigitalOceanApiDouble.start({ token: TOKEN, domains: ['example.com'] });
});
afterAll(async () => {
  await double.close();
});
afterEach(() => {
  double.assertValid();
  double.resetCalls();
});

function client(token = TOKEN) {
  const logger = recordingLogger();
  return { logger, digitalocean: createDigitalOceanClient({ token, logger, baseUrl: double.url, retryDelayMs: 10, maxWaitSeconds: 5 }) };
}

/** The answer to a single-Droplet create (the spec's oneOf also has the multi-create answer). */
function single<T extends object>(body: T): Extract<T, { droplet: unknown }> {
  if (!('droplet' in body)) throw new Error('expected a single Droplet');
  return body as Extract<T, { droplet: unknown }>;
}

async function createVolume(name: string) {
  const { digitalocean } = client();
  return expectData('POST /v2/volumes', await digitalocean.api.POST('/v2/volumes', { body: { name, size_gigabytes: 10, region: 'nyc3', filesystem_type: 'ext4', tags: ['titan-test'] } })).volume;
}

describe('the typed client against the spec-validated double', () => {
  it('reads every page of a list', async () => {
    for (let i = 0; i < 5; i++) await createVolume(`pages-${i}`);
    const { digitalocean } = client();
    const volumes = await listAll('GET /v2/volumes', (page, per_page) => digitalocean.api.GET('/v2/volumes', { params: { query: { page, per_page } } }), (b) => b.volumes, 2);
    expect(volumes.map((v) => v.name).filter((n) => n?.startsWith('pages-'))).toEqual(['pages-0', 'pages-1', 'pages-2', 'pages-3', 'pages-4']);
    expect(double.calls.filter((c) => c.operationId === 'volumes_list').map((c) => c.url)).toEqual(['/v2/volumes?page=1&per_page=2', '/v2/volumes?page=2&per_page=2', '/v2/volumes?page=3&per_page=2']);
  });

  it('creates, lists by volume and deletes volume snapshots', async () => {
    const volume = await createVolume('snapshots-volume');
    const { digitalocean } = client();
    const id = volume?.id ?? '';
    const snapshot = expectData('POST snapshot', await digitalocean.api.POST('/v2/volumes/{volume_id}/snapshots', { params: { path: { volume_id: id } }, body: { name: 'nightly-1', tags: ['titan-backup'] } })).snapshot;
    expect(snapshot).toMatchObject({ name: 'nightly-1', resource_id: id, resource_type: 'volume', tags: ['titan-backup'] });
    const listed = await listAll('GET snapshots', (page, per_page) => digitalocean.api.GET('/v2/volumes/{volume_id}/snapshots', { params: { path: { volume_id: id }, query: { page, per_page } } }), (b) => b.snapshots);
    expect(listed.map((s) => s.name)).toEqual(['nightly-1']);
    const all = await listAll('GET /v2/snapshots', (page, per_page) => digitalocean.api.GET('/v2/snapshots', { params: { query: { page, per_page, resource_type: 'volume' } } }), (b) => b.snapshots);
    expect(all.map((s) => s.id)).toContain(snapshot?.id);
    expectOk('DELETE snapshot', await digitalocean.api.DELETE('/v2/volumes/snapshots/{snapshot_id}', { params: { path: { snapshot_id: snapshot?.id ?? '' } } }));
    const gone = await digitalocean.api.GET('/v2/volumes/snapshots/{snapshot_id}', { params: { path: { snapshot_id: snapshot?.id ?? '' } } });
    expect(gone.response.status).toBe(404);
    expect(double.writes().map((w) => `${w.method} ${w.operationId} ${w.status}`)).toEqual(['POST volumes_create 201', 'POST volumeSnapshots_create 201', 'DELETE volumeSnapshots_delete_byId 204']);
  });

  it('names a refused token (401) and what to do', async () => {
    const { digitalocean } = client('dop_v1_wrong');
    const error = await digitalocean.api.GET('/v2/account').then((r) => expectData('GET /v2/account', r)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DigitalOceanApiError);
    expect((error as Error).message).toMatch(/GET \/v2\/account failed: DigitalOcean answered 401 Unauthorized: Unable to authenticate you\. The token was refused/);
    expect((error as Error).message).not.toContain('wrong');
  });

  it('waits out a 429 as retry-after says and sends the request again, a POST included', async () => {
    double.inject({ status: 429, retryAfterSeconds: 1, operationId: 'volumes_create' });
    const started = Date.now();
    const { logger, digitalocean } = client();
    const created = expectData('POST /v2/volumes', await digitalocean.api.POST('/v2/volumes', { body: { name: 'after-429', size_gigabytes: 10, region: 'nyc3' } }));
    expect(created.volume?.name).toBe('after-429');
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(logger.text()).toContain('POST /v2/volumes: rate limited by DigitalOcean (429): waiting 1 s as it asks');
    expect(double.calls.map((c) => c.status)).toEqual([429, 201]);
    expect(digitalocean.transport.stats).toMatchObject({ requests: 2, retries: 1, rateLimitWaits: 1 });
  });

  it('refuses to wait longer than allowed for the rate limit, and sends nothing more', async () => {
    double.inject({ status: 429, retryAfterSeconds: 600, operationId: 'account_get' });
    const { digitalocean } = client();
    const error = await digitalocean.api.GET('/v2/account').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DigitalOceanRateLimitError);
    expect((error as Error).message).toContain('asks to wait 600 s, more than the 5 s this run may wait');
    expect(double.calls).toHaveLength(1);
  });

  it('retries a GET that got a 500, never a POST', async () => {
    double.inject({ status: 500, operationId: 'account_get', times: 2 });
    const { digitalocean } = client();
    expect(expectData('GET /v2/account', await digitalocean.api.GET('/v2/account')).account?.status).toBe('active');
    expect(double.calls.map((c) => c.status)).toEqual([500, 500, 200]);
    double.resetCalls();
    double.inject({ status: 500, operationId: 'volumes_create' });
    const result = await digitalocean.api.POST('/v2/volumes', { body: { name: 'after-500', size_gigabytes: 10, region: 'nyc3' } });
    expect(() => expectData('POST /v2/volumes', result)).toThrow(/POST \/v2\/volumes failed: DigitalOcean answered 500 server_error.*run again/);
    expect(double.calls.map((c) => c.status)).toEqual([500]);
  });

  it('reports an unreachable API, saying whether a write may have taken effect', async () => {
    const logger = recordingLogger();
    const digitalocean = createDigitalOceanClient({ token: TOKEN, logger, baseUrl: 'http://127.0.0.1:9', retryDelayMs: 1, maxRetries: 1 });
    const get = await digitalocean.api.GET('/v2/account').catch((e: unknown) => e);
    expect(get).toBeInstanceOf(DigitalOceanUnreachableError);
    expect(digitalocean.transport.stats.requests).toBe(2);
    const post = await digitalocean.api.POST('/v2/volumes', { body: { name: 'x', size_gigabytes: 1, region: 'nyc3' } }).catch((e: unknown) => e);
    expect((post as Error).message).toContain('may have taken effect');
    expect(digitalocean.transport.stats.requests).toBe(3);
  });

  it('polls an action to its end, and names an action that errors', async () => {
    const { logger, digitalocean } = client();
    const volume = await createVolume('attach-me');
    const droplet = single(expectData('POST /v2/droplets', await digitalocean.api.POST('/v2/droplets', { body: { name: 'poll-1', region: 'nyc3', size: 's-1vcpu-2gb', image: 'debian-12-x64', tags: ['poll'] } })));
    const createAction = droplet.links.actions?.[0]?.id ?? 0;
    const done = await waitForAction(digitalocean, createAction, 'creating poll-1', { logger, timeoutMs: 5000, intervalMs: 10 });
    expect(done.status).toBe('completed');
    double.world.failingActions.add('attach_volume');
    const attach = expectData('attach', await digitalocean.api.POST('/v2/volumes/{volume_id}/actions', { params: { path: { volume_id: volume?.id ?? '' } }, body: { type: 'attach', droplet_id: droplet.droplet.id } }));
    const error = await waitForAction(digitalocean, attach.action?.id ?? 0, 'attaching attach-me', { logger, timeoutMs: 5000, intervalMs: 10 }).catch((e: unknown) => e);
    double.world.failingActions.clear();
    expect(error).toBeInstanceOf(ActionFailedError);
    expect((error as Error).message).toMatch(/attach_volume of volume .* for attaching attach-me ended "errored"/);
  });

  it('gives up on a Droplet that never becomes active', async () => {
    double.world.dropletsNeverActive = true;
    const { logger, digitalocean } = client();
    const created = single(expectData('POST', await digitalocean.api.POST('/v2/droplets', { body: { name: 'stuck', region: 'nyc3', size: 's-1vcpu-2gb', image: 'debian-12-x64' } })));
    const id = created.droplet.id;
    const error = await pollUntil('Droplet stuck to become active', async () => expectData('GET', await digitalocean.api.GET('/v2/droplets/{droplet_id}', { params: { path: { droplet_id: id } } })).droplet, (d) => d?.status === 'active', (d) => `status ${d?.status ?? '?'}`, { logger, timeoutMs: 200, intervalMs: 20 }).catch((e: unknown) => e);
    double.world.dropletsNeverActive = false;
    expect(error).toBeInstanceOf(PollTimeoutError);
    expect((error as Error).message).toContain('Droplet stuck to become active did not finish within 0 s (last state: status new)');
  });

  it('answers 400 and records a violation for a request the real API would refuse', async () => {
    const response = await fetch(`${double.url}/v2/droplets`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ size: 5 }) });
    expect(response.status).toBe(400);
    expect(() => double.assertValid()).toThrow(/POST \/v2\/droplets: the request breaks the spec: .*must have required property 'name'/);
    double.violations.length = 0;
    const filtered = await fetch(`${double.url}/v2/droplets?per_page=500`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(filtered.status).toBe(400);
    expect(double.violations.join('\n')).toMatch(/per_page must be <= 200/);
    double.violations.length = 0;
  });

  it('refuses user data over 64 KiB and a size the region does not offer, as DigitalOcean does', async () => {
    const { digitalocean } = client();
    const big = await digitalocean.api.POST('/v2/droplets', { body: { name: 'big', region: 'nyc3', size: 's-1vcpu-2gb', image: 'debian-12-x64', user_data: 'x'.repeat(64 * 1024 + 1) } });
    expect(big.response.status).toBe(422);
    const size = await digitalocean.api.POST('/v2/droplets', { body: { name: 'small', region: 'sgp1', size: 's-4vcpu-8gb', image: 'debian-12-x64' } });
    expect(() => expectData('POST /v2/droplets', size)).toThrow(/422 unprocessable_entity: Size is not available in this region/);
  });
});

describe('the rate limit window', () => {
  it('waits until ratelimit-reset when the last answer said none remain', async () => {
    const waits: number[] = [];
    let clock = 1_800_000_000_000;
    const answers = [
      new Response('{"account":{}}', { status: 200, headers: { 'ratelimit-limit': '5000', 'ratelimit-remaining': '0', 'ratelimit-reset': String(clock / 1000 + 3) } }),
      new Response('{"account":{}}', { status: 200, headers: { 'ratelimit-limit': '5000', 'ratelimit-remaining': '4999', 'ratelimit-reset': String(clock / 1000 + 3600) } }),
    ];
    const logger = recordingLogger();
    const digitalocean = createDigitalOceanClient({
      token: TOKEN, logger, baseUrl: 'http://127.0.0.1:9',
      fetch: () => Promise.resolve(answers.shift() as Response),
      sleep: (ms) => { waits.push(ms); clock += ms; return Promise.resolve(); },
      now: () => clock,
    });
    await digitalocean.api.GET('/v2/account');
    await digitalocean.api.GET('/v2/account');
    expect(waits).toEqual([3000]);
    expect(logger.text()).toContain("DigitalOcean's rate limit window is used up (ratelimit-remaining 0): waiting 3 s until it resets");
  });
});

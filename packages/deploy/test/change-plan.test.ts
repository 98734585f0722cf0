/**
 * What a deploy stops and restarts, decided from two releases of the real examples/titan: the
 * compose files as they are, and copies changed the way releases change.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { planChanges, type ReleaseView } from '@titan/deploy/change-plan';
import { readComposeView } from '@titan/release/compose-model';
import type { ReleaseManifest } from '@titan/release/manifest';
import { groupedServices } from '@titan/release/stack-profile';
import { servicePortsOf } from '@titan/release/service-ports';
import { parseStackProfile } from '@titan/release/stack-profile-file';

const EXAMPLE = join(import.meta.dirname, '../../../examples/titan');
const BASE = readFileSync(join(EXAMPLE, 'docker-compose.yml'), 'utf8');
const PROD = readFileSync(join(EXAMPLE, 'docker-compose.prod.yml'), 'utf8');
const SERVICES = Object.keys((parse(BASE) as { services: Record<string, unknown> }).services);
/** examples/titan's stack profile, as sign signs it into the manifest. */
const STACK = parseStackProfile(readFileSync(join(EXAMPLE, 'stack.yml'), 'utf8'), { services: SERVICES, ports: servicePortsOf([parse(BASE), parse(PROD)]) });
const STOP_ORDER = STACK.groups.map((g) => g.services);

function view(options: { digests?: Record<string, string>; files?: Record<string, string>; base?: string } = {}): ReleaseView {
  const images: Record<string, { image: string; digest: string }> = {};
  for (const service of SERVICES) {
    images[service] = { image: `127.0.0.1:5000/titan/${service}`, digest: options.digests?.[service] ?? `sha256:${'a'.repeat(64)}` };
  }
  const fileShas: Record<string, string> = {
    'config/policy.json': '1'.repeat(64),
    'config/nats.conf': '2'.repeat(64),
    'config/prometheus.yml': '3'.repeat(64),
    'migrations/0001_accounts_and_orders.sql': '4'.repeat(64),
    ...options.files,
  };
  const manifest = {
    releaseId: 'r',
    compose: ['docker-compose.yml', 'docker-compose.prod.yml', 'docker-compose.digests.yml'],
    images,
    files: Object.entries(fileShas).map(([path, sha256]) => ({ path, sha256, size: 1 })),
    stack: STACK,
  } as unknown as ReleaseManifest;
  return {
    manifest,
    compose: readComposeView([
      { name: 'docker-compose.yml', text: options.base ?? BASE },
      { name: 'docker-compose.prod.yml', text: PROD },
    ]),
  };
}

describe('planChanges', () => {
  it('reads all 17 services of examples/titan', () => {
    expect(SERVICES).toHaveLength(17);
    expect(SERVICES).toContain('titan-console-api');
    expect(SERVICES).toContain('titan-opsd');
    expect(groupedServices(STACK).every((s) => SERVICES.includes(s))).toBe(true);
    expect(STOP_ORDER).toEqual([
      ['titan-scavenger', 'titan-hunter', 'titan-sentinel', 'titan-ai-quant', 'titan-powerlaw-lab'],
      ['titan-execution'],
      ['titan-brain'],
      ['titan-console', 'titan-console-api', 'titan-opsd'],
    ]);
  });

  it('on a fresh host every service is new and nothing is stopped', () => {
    const plan = planChanges(undefined, view(), { previous: undefined, next: 'DISARMED' });
    expect(plan.changed).toHaveLength(17);
    expect(plan.services.every((s) => s.reasons.join() === 'new')).toBe(true);
    expect(plan.stopBeforeSwitch).toEqual([]);
  });

  it('the same release changes nothing', () => {
    const plan = planChanges(view(), view(), { previous: 'DISARMED', next: 'DISARMED' });
    expect(plan.changed).toEqual([]);
    expect(plan.stopBeforeSwitch).toEqual([]);
    expect(plan.restartAfterSwitch).toEqual([]);
  });

  it('one new digest changes that service only', () => {
    const plan = planChanges(view(), view({ digests: { 'titan-hunter': `sha256:${'b'.repeat(64)}` } }), { previous: 'DISARMED', next: 'DISARMED' });
    expect(plan.changed).toEqual(['titan-hunter']);
    expect(plan.services.find((s) => s.service === 'titan-hunter')?.reasons).toEqual(['image']);
    expect(plan.stopBeforeSwitch).toEqual([['titan-hunter']]);
  });

  it('a changed policy file stops every Titan service that mounts it, in order: strategies, execution, brain, console, console-api, opsd', () => {
    const plan = planChanges(view(), view({ files: { 'config/policy.json': '9'.repeat(64) } }), { previous: 'DISARMED', next: 'DISARMED' });
    expect(plan.stopBeforeSwitch).toEqual([
      ['titan-scavenger', 'titan-hunter', 'titan-sentinel', 'titan-ai-quant', 'titan-powerlaw-lab'],
      ['titan-execution'],
      ['titan-brain'],
      ['titan-console', 'titan-console-api', 'titan-opsd'],
    ]);
    expect(plan.services.find((s) => s.service === 'titan-brain')?.reasons).toEqual(['files']);
    expect(plan.changed).not.toContain('postgres');
  });

  it('infrastructure keeps running: a changed digest is left to compose, a changed mounted config is restarted after the switch', () => {
    const plan = planChanges(
      view(),
      view({ digests: { postgres: `sha256:${'c'.repeat(64)}` }, files: { 'config/nats.conf': '8'.repeat(64) } }),
      { previous: 'DISARMED', next: 'DISARMED' },
    );
    expect(plan.changed).toEqual(['nats', 'postgres']);
    expect(plan.stopBeforeSwitch).toEqual([]);
    expect(plan.restartAfterSwitch).toEqual(['nats']);
    expect(plan.stopBeforeRevert).toEqual(['nats']);
  });

  it('arming changes every service whose definition uses TITAN_MODE, and nothing else', () => {
    const plan = planChanges(view(), view(), { previous: 'DISARMED', next: 'ARMED' });
    expect(plan.changed).toEqual([...groupedServices(STACK)].sort());
    expect(plan.services.find((s) => s.service === 'titan-opsd')?.reasons).toEqual(['mode']);
  });

  it('a changed service definition changes that service', () => {
    const base = BASE.replace('NODE_ENV: production', 'NODE_ENV: production\n      FEATURE_X: "1"');
    const plan = planChanges(view(), view({ base }), { previous: 'DISARMED', next: 'DISARMED' });
    expect(plan.changed).toEqual(['titan-brain']);
    expect(plan.services.find((s) => s.service === 'titan-brain')?.reasons).toEqual(['definition']);
  });

  it('a migration file alone changes no service', () => {
    const plan = planChanges(view(), view({ files: { 'migrations/0002_fills_and_positions.sql': '5'.repeat(64) } }), { previous: 'DISARMED', next: 'DISARMED' });
    expect(plan.changed).toEqual([]);
  });
});

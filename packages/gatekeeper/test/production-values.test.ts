import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDotenv } from '@titan/gatekeeper/dotenv';
import { readEnvFile } from '@titan/gatekeeper/env-file';
import { checkProductionValues } from '@titan/gatekeeper/production-values';
import { resolveRequiredValues } from '@titan/gatekeeper/required-values';
import { EXAMPLE_SOURCE, TITAN_VALUES, dotenvText, goodValues, valuesSource, anyText } from './release-fixture.js';

function check(values: Record<string, string>) {
  return checkProductionValues({ sources: [valuesSource(values)], ...TITAN_VALUES });
}

/** Line of KEY in dotenvText(values): a comment line, then one line per key in insertion order. */
function lineOfKey(values: Record<string, string>, key: string): number {
  return Object.keys(values).indexOf(key) + 2;
}

describe('production values', () => {
  it('the required set of examples/titan (services.yml values.required) is exactly the secrets of its production.env.template, and the distinct ones its NATS users', async () => {
    const template = await readFile(join(EXAMPLE_SOURCE, 'production.env.template'), 'utf8');
    const { entries } = parseDotenv(template, 'production.env.template');
    const placeholders = entries.filter((e) => e.value === '__CHANGE_ME__').map((e) => e.name);
    expect(new Set(TITAN_VALUES.required)).toEqual(new Set(placeholders.filter((n) => !['POSTGRES_UID', 'POSTGRES_GID'].includes(n))));
    expect(TITAN_VALUES.distinct).toEqual(placeholders.filter((n) => /^NATS_[A-Z]+_PASSWORD$/.test(n)));
  });

  it('the staging posture lets development defaults and weak values through as warnings that say so; missing and placeholder values still block', () => {
    const values = { ...goodValues(), HMAC_SECRET: 'supersecretkey_staging_only', BINANCE_API_KEY: 'dummy_key_staging', REDIS_PASSWORD: 'short', JWT_SECRET: '__CHANGE_ME__' };
    delete (values as Record<string, string | undefined>)['DOMAIN'];
    const production = checkProductionValues({ sources: [valuesSource(values)], ...TITAN_VALUES });
    const staging = checkProductionValues({ sources: [valuesSource(values)], ...TITAN_VALUES, posture: 'staging' });
    const bySeverity = (findings: typeof staging) => findings.map((f) => `${f.severity} ${f.message}`).sort();
    expect(bySeverity(production)).toEqual([
      'error BINANCE_API_KEY is a known development default',
      'error DOMAIN is not set',
      'error HMAC_SECRET is a known development default',
      'error JWT_SECRET is still a placeholder',
      'error REDIS_PASSWORD is too short to be a generated secret (5 characters; at least 16 needed)',
    ]);
    expect(bySeverity(staging)).toEqual([
      'error DOMAIN is not set',
      'error JWT_SECRET is still a placeholder',
      'warning BINANCE_API_KEY is a known development default: allowed in the staging posture, the production gate refuses it',
      'warning HMAC_SECRET is a known development default: allowed in the staging posture, the production gate refuses it',
      'warning REDIS_PASSWORD is too short to be a generated secret (5 characters; at least 16 needed): allowed in the staging posture, the production gate refuses it',
    ]);
  });

  it('good generated values pass', () => {
    expect(check(goodValues())).toEqual([]);
  });

  it('the template itself fails on every variable, each at its line, without repeating the placeholder', async () => {
    const template = await readFile(join(EXAMPLE_SOURCE, 'production.env.template'), 'utf8');
    const findings = checkProductionValues({
      sources: [{ origin: 'production.env.template', parsed: parseDotenv(template, 'production.env.template') }],
      ...TITAN_VALUES,
    });
    const lines = template.split('\n');
    expect(findings).toHaveLength(TITAN_VALUES.required.length + 2);
    for (const finding of findings) {
      expect(finding.file).toBe('production.env.template');
      const name = finding.message.split(' ')[0] ?? '';
      expect(lines[(finding.line ?? 0) - 1]).toMatch(new RegExp(`^${name}=`));
      expect(finding.message).toMatch(/is still a (template )?placeholder$/);
      expect(JSON.stringify(finding)).not.toContain('__CHANGE_ME__');
    }
  });

  it.each([
    ['missing', (v: Record<string, string>) => delete v['JWT_SECRET'], 'JWT_SECRET', 'JWT_SECRET is not set'],
    ['empty', (v: Record<string, string>) => (v['HMAC_SECRET'] = ''), 'HMAC_SECRET', 'HMAC_SECRET is empty'],
    ['the template placeholder', (v: Record<string, string>) => (v['TITAN_DB_PASSWORD'] = '__CHANGE_ME__'), 'TITAN_DB_PASSWORD', 'TITAN_DB_PASSWORD is still a placeholder'],
    ['a staging default', (v: Record<string, string>) => (v['HMAC_SECRET'] = 'supersecretkey_staging_only'), 'HMAC_SECRET', 'HMAC_SECRET is a known development default'],
    ['admin, in capitals', (v: Record<string, string>) => (v['GRAFANA_ADMIN_PASSWORD'] = 'ADMIN'), 'GRAFANA_ADMIN_PASSWORD', 'GRAFANA_ADMIN_PASSWORD is a known development default'],
    ['a short secret', (v: Record<string, string>) => (v['REDIS_PASSWORD'] = 'k3#9xQ!2p'), 'REDIS_PASSWORD', 'REDIS_PASSWORD is too short to be a generated secret (9 characters; at least 16 needed)'],
    ['a long secret of one repeated pattern', (v: Record<string, string>) => (v['SAFETY_SECRET'] = 'abababababababababab'), 'SAFETY_SECRET', 'SAFETY_SECRET has too few distinct characters to be a generated secret'],
    ['ACME_EMAIL at example.com', (v: Record<string, string>) => (v['ACME_EMAIL'] = 'ops@example.com'), 'ACME_EMAIL', 'ACME_EMAIL is an address at a reserved example or test domain, which cannot receive mail'],
    ['ACME_EMAIL not an email', (v: Record<string, string>) => (v['ACME_EMAIL'] = 'ops.titan.net'), 'ACME_EMAIL', 'ACME_EMAIL is not a valid email address'],
    ['DOMAIN localhost', (v: Record<string, string>) => (v['DOMAIN'] = 'localhost'), 'DOMAIN', 'DOMAIN is not a valid fully qualified hostname (e.g. titan.your-company.net)'],
    ['DOMAIN an example domain', (v: Record<string, string>) => (v['DOMAIN'] = 'titan.example.org'), 'DOMAIN', 'DOMAIN is a reserved example, test or local name, not a public hostname'],
    ['DOMAIN an IP address', (v: Record<string, string>) => (v['DOMAIN'] = '203.0.113.10'), 'DOMAIN', 'DOMAIN is an IP address; a public hostname is needed'],
  ])('%s', (_label, spoil, name, message) => {
    const values = goodValues();
    spoil(values);
    const findings = check(values);
    expect(findings).toEqual([
      {
        check: 'production-values',
        severity: 'error',
        file: 'prod.env',
        line: name in values ? lineOfKey(values, name) : null,
        message,
        fix: anyText(),
      },
    ]);
  });

  it('two NATS service passwords equal: the later one is named with the variable it copies, never the value', () => {
    const values = goodValues();
    values['NATS_HUNTER_PASSWORD'] = values['NATS_SCAVENGER_PASSWORD'] ?? '';
    const findings = check(values);
    expect(findings).toEqual([
      expect.objectContaining({ file: 'prod.env', line: lineOfKey(values, 'NATS_HUNTER_PASSWORD'), message: 'NATS_HUNTER_PASSWORD equals NATS_SCAVENGER_PASSWORD' }),
    ]);
    expect(JSON.stringify(findings)).not.toContain(values['NATS_HUNTER_PASSWORD']);
  });

  it('a NATS password equal to another secret', () => {
    const values = goodValues();
    values['NATS_QUANT_PASSWORD'] = values['REDIS_PASSWORD'] ?? '';
    expect(check(values)).toEqual([expect.objectContaining({ message: 'NATS_QUANT_PASSWORD equals REDIS_PASSWORD' })]);
  });

  it('no finding ever carries a value', () => {
    const values = goodValues();
    const bad = { TITAN_MASTER_PASSWORD: 'password', JWT_SECRET: 'short-jwt-1', DOMAIN: 'example.com', ACME_EMAIL: 'root@localhost', BYBIT_API_KEY: 'dummy_key_staging' };
    Object.assign(values, bad);
    const text = JSON.stringify(check(values));
    for (const value of Object.values(bad)) expect(text).not.toContain(value);
  });

  it('the values input overrides the env file, and each finding points at the source the value came from', () => {
    const fileValues = goodValues();
    fileValues['REDIS_PASSWORD'] = 'redis';
    fileValues['JWT_SECRET'] = 'changeme';
    const secretText = 'export JWT_SECRET="' + 'f'.repeat(4) + 'a1b2c3d4e5f6a7b8c9d0"\n';
    const findings = checkProductionValues({
      sources: [valuesSource(fileValues, 'prod.env'), { origin: 'input:values', parsed: parseDotenv(secretText, 'input:values') }],
      ...TITAN_VALUES,
    });
    expect(findings).toEqual([expect.objectContaining({ file: 'prod.env', line: lineOfKey(fileValues, 'REDIS_PASSWORD'), message: 'REDIS_PASSWORD is a known development default' })]);
  });

  it('a variable the Compose files require fail-fast but the values lack is named with the requiring line', () => {
    const values = goodValues();
    delete values['POSTGRES_UID'];
    const findings = checkProductionValues({
      sources: [valuesSource(values)],
      ...TITAN_VALUES,
      composeRequired: new Map([['POSTGRES_UID', { file: 'docker-compose.yml', line: 77 }]]),
    });
    expect(findings).toEqual([
      expect.objectContaining({ file: 'prod.env', line: null, message: 'POSTGRES_UID is not set, but docker-compose.yml:77 requires it (${POSTGRES_UID:?...}), so Compose would refuse to start' }),
    ]);
  });

  it('a malformed line is reported by number without its text', () => {
    const text = `${dotenvText(goodValues())}this line has a s3cr3t-looking-thing but no equals sign\n`;
    const findings = checkProductionValues({ sources: [{ origin: 'prod.env', parsed: parseDotenv(text, 'prod.env') }], ...TITAN_VALUES });
    expect(findings).toEqual([expect.objectContaining({ line: text.split('\n').length - 1, message: `Line ${text.split('\n').length - 1} is not a KEY=value assignment` })]);
    expect(JSON.stringify(findings)).not.toContain('s3cr3t');
  });
});

describe('env file', () => {
  it('an env file others can read is a warning; mode 0600 is fine', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gatekeeper-env-'));
    const path = join(dir, 'prod.env');
    await writeFile(path, dotenvText(goodValues()));
    await chmod(path, 0o644);
    const open = checkProductionValues({ sources: [await readEnvFile(path, 'prod.env')], ...TITAN_VALUES });
    expect(open).toEqual([expect.objectContaining({ severity: 'warning', file: 'prod.env', line: null, message: 'The production env file is readable by every user (mode 0644)' })]);
    await chmod(path, 0o600);
    expect(checkProductionValues({ sources: [await readEnvFile(path, 'prod.env')], ...TITAN_VALUES })).toEqual([]);
    await expect(readEnvFile(join(dir, 'missing.env'), 'missing.env')).rejects.toThrow(/missing\.env cannot be read \(ENOENT\)/);
    await rm(dir, { recursive: true, force: true });
  });
});

describe('required input', () => {
  it('NAME lines replace the default set; +NAME adds; -NAME removes', () => {
    expect(resolveRequiredValues([], TITAN_VALUES.required)).toEqual(TITAN_VALUES.required);
    expect(resolveRequiredValues(['+SLACK_WEBHOOK_URL', '-BYBIT_API_KEY', '-BYBIT_API_SECRET'], TITAN_VALUES.required)).toEqual([
      ...TITAN_VALUES.required.filter((n) => !n.startsWith('BYBIT_')),
      'SLACK_WEBHOOK_URL',
    ]);
    expect(resolveRequiredValues(['HMAC_SECRET', 'DOMAIN', '+JWT_SECRET'], TITAN_VALUES.required)).toEqual(['HMAC_SECRET', 'DOMAIN', 'JWT_SECRET']);
    expect(() => resolveRequiredValues(['+not a name'], [])).toThrow(/"\+not a name" is not a variable name/);
  });
});

describe('dotenv', () => {
  it('reads export, quotes, escapes, comments and multi-line values with the line of each name', () => {
    const text = [
      '# comment',
      'export A=plain # trailing comment',
      "B='single # kept'",
      'C="line1\\nline2 \\"q\\""',
      'D="multi',
      'line"',
      'E=a#b',
      '',
      'F=',
    ].join('\n');
    const { entries, problems } = parseDotenv(text, 'x.env');
    expect(problems).toEqual([]);
    expect(entries.map((e) => [e.name, e.value, e.line])).toEqual([
      ['A', 'plain', 2],
      ['B', 'single # kept', 3],
      ['C', 'line1\nline2 "q"', 4],
      ['D', 'multi\nline', 5],
      ['E', 'a#b', 7],
      ['F', '', 9],
    ]);
  });
});

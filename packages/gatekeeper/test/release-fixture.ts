import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { parseDotenv } from '@titan/gatekeeper/dotenv';
import type { ValuesSource } from '@titan/gatekeeper/production-values';
import { readServicesFile } from '@titan/release/services-file';

/** The sample release source of this repository: the real data the gate is tested on. */
export const EXAMPLE_SOURCE = fileURLToPath(new URL('../../../examples/titan', import.meta.url));

/** The production values examples/titan needs: `values` of its services.yml (required, distinct). */
export const TITAN_VALUES = (await readServicesFile(join(EXAMPLE_SOURCE, 'services.yml'))).values;

/** A copy of examples/titan in a fresh temporary folder, removed by `cleanup`. */
export async function copyExample(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'gatekeeper-'));
  const dir = join(root, 'titan');
  await cp(EXAMPLE_SOURCE, dir, { recursive: true });
  return { dir, cleanup: () => rm(root, { recursive: true, force: true }) };
}

function secret(): string {
  return randomBytes(24).toString('hex');
}

/** Production values that pass every rule: generated secrets, a real-looking contact and domain. */
export function goodValues(): Record<string, string> {
  const domain = `titan-${randomBytes(4).toString('hex')}.net`;
  return {
    TITAN_MASTER_PASSWORD: secret(),
    HMAC_SECRET: secret(),
    SAFETY_SECRET: secret(),
    JWT_SECRET: secret(),
    BINANCE_API_KEY: randomBytes(32).toString('base64url'),
    BINANCE_API_SECRET: randomBytes(32).toString('base64url'),
    BYBIT_API_KEY: randomBytes(18).toString('base64url'),
    BYBIT_API_SECRET: randomBytes(27).toString('base64url'),
    NATS_SYS_PASSWORD: secret(),
    NATS_BRAIN_PASSWORD: secret(),
    NATS_EXECUTION_PASSWORD: secret(),
    NATS_SCAVENGER_PASSWORD: secret(),
    NATS_HUNTER_PASSWORD: secret(),
    NATS_SENTINEL_PASSWORD: secret(),
    NATS_POWERLAW_PASSWORD: secret(),
    NATS_QUANT_PASSWORD: secret(),
    NATS_CONSOLE_PASSWORD: secret(),
    NATS_BACKUP_PASSWORD: secret(),
    POSTGRES_PASSWORD: secret(),
    TITAN_DB_PASSWORD: secret(),
    REDIS_PASSWORD: secret(),
    GRAFANA_ADMIN_PASSWORD: secret(),
    ACME_EMAIL: `ops@${domain}`,
    DOMAIN: `console.${domain}`,
    POSTGRES_UID: '105',
    POSTGRES_GID: '109',
    TITAN_MODE: 'DISARMED',
    TITAN_REGISTRY: '127.0.0.1:5000/titan',
  };
}

/** Passwords of the shapes that break configuration parsers, each long and varied enough for the gate. */
export const TROUBLESOME_PASSWORDS: readonly string[] = [
  '12e4123456789012345',
  '86e1a2b3c4d5e6f7a8b9',
  '1234567890123456789',
  '0x1F2E3D4C5B6A79880',
  '9leading-digit-password',
  'true-and-false-and-yes',
  '1k2m3g4t-sizes-1MB',
  '#starts-with-a-hash-1',
  'has # a hash after a space',
  ' leading and trailing spaces ',
  'semi;colon,comma=equals:colon',
  '{braces}[brackets](parens)<>',
  'umlaut-ü-euro-€-日本-9',
  '//slashes//and*stars*?',
];

/** dotenv text of a record, one `KEY=value` line each, under a comment line (so line = index + 2). */
export function dotenvText(values: Record<string, string>): string {
  return ['# production values', ...Object.entries(values).map(([k, v]) => `${k}=${v}`)].join('\n') + '\n';
}

export function valuesSource(values: Record<string, string>, origin = 'prod.env'): ValuesSource {
  return { origin, parsed: parseDotenv(dotenvText(values), origin) };
}

/** 1-based line of the first line containing `needle`, searching from the line containing `after` (if given). */
export function lineOf(text: string, needle: string, after?: string): number {
  const lines = text.split('\n');
  let start = 0;
  if (after !== undefined) {
    start = lines.findIndex((l) => l.includes(after));
    expect(start, `"${after}" not found`).toBeGreaterThanOrEqual(0);
  }
  const index = lines.findIndex((l, i) => i >= start && l.includes(needle));
  expect(index, `"${needle}" not found after "${after ?? ''}"`).toBeGreaterThanOrEqual(0);
  return index + 1;
}

/** Replaces the first `from` at or after the line `  <service>:`; fails the test if it is not there. */
export function replaceInService(text: string, service: string, from: string, to: string): string {
  const header = text.indexOf(`\n  ${service}:\n`);
  expect(header, `service ${service} not found`).toBeGreaterThanOrEqual(0);
  const at = text.indexOf(from, header);
  expect(at, `"${from}" not found in ${service}`).toBeGreaterThanOrEqual(0);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

/** Removes `    <key>:` and its block from a service (a top-level Compose service). */
export function removeServiceKey(text: string, service: string, key: string): string {
  const lines = text.split('\n');
  const header = lines.findIndex((l) => l === `  ${service}:`);
  expect(header, `service ${service} not found`).toBeGreaterThanOrEqual(0);
  let at = -1;
  for (let i = header + 1; i < lines.length; i += 1) {
    const line = lines[i] ?? '';
    if (/^ {0,2}\S/.test(line)) break;
    if (line.startsWith(`    ${key}:`)) {
      at = i;
      break;
    }
  }
  expect(at, `${service}.${key} not found`).toBeGreaterThanOrEqual(0);
  let end = at + 1;
  while (end < lines.length && /^( {5,}\S| *$)/.test(lines[end] ?? '') && (lines[end] ?? '').trim() !== '') end += 1;
  lines.splice(at, end - at);
  return lines.join('\n');
}

export async function editFile(path: string, change: (text: string) => string): Promise<string> {
  const text = change(await readFile(path, 'utf8'));
  await writeFile(path, text);
  return text;
}

/** Asymmetric matchers typed as the string they stand for, for use inside expected objects. */
export function textMatching(pattern: RegExp): string {
  return expect.stringMatching(pattern) as string;
}

export function textContaining(text: string): string {
  return expect.stringContaining(text) as string;
}

export function anyText(): string {
  return expect.any(String) as string;
}

/**
 * Values the stack can carry as written: the gate refuses, naming the variable and never the value,
 * what Compose's env file readers would change ($, quotes, backslashes, line breaks, control
 * characters), and what it accepts reaches Compose exactly as the gate read it: the real Compose
 * v1 on this machine (`docker-compose config`, which reads the env file and interpolates the
 * compose file without a Docker engine) is given gate-accepted values of every shape, written as an
 * operator writes them, and must see each one byte for byte.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseDotenv } from '@titan/gatekeeper/dotenv';
import { checkProductionValues } from '@titan/gatekeeper/production-values';
import { carriageProblem } from '@titan/gatekeeper/value-carriage';
import { TITAN_VALUES, TROUBLESOME_PASSWORDS, goodValues } from './release-fixture.js';


/** How an operator writes a value: bare when that reads back the same, single-quoted otherwise. */
function written(value: string): string {
  return /^\S(.*\S)?$/.test(value) && !value.includes(' #') && !value.startsWith('#') ? value : `'${value}'`;
}

function check(values: Record<string, string>) {
  const text = ['# production values', ...Object.entries(values).map(([k, v]) => `${k}=${written(v)}`)].join('\n');
  return checkProductionValues({ sources: [{ origin: 'prod.env', parsed: parseDotenv(text, 'prod.env') }], ...TITAN_VALUES });
}

describe('values the stack can carry as written', () => {
  it.each([
    ['a dollar', 'abc$def0123456789xyz', 'holds a "$"'],
    ['a Compose reference', 'pre-${HOME}-post-0123456789', 'holds a "$"'],
    ['a double quote', 'abc"def0123456789xyz', 'holds a quote character'],
    ['a single quote', "abc'def0123456789xyz", 'holds a quote character'],
    ['a backquote', 'abc`def0123456789xyz', 'holds a quote character'],
    ['a backslash', 'abc\\def0123456789xyz', 'holds a backslash'],
    ['a line break', 'abcdef0123\n456789xyz', 'holds a line break'],
    ['a carriage return', 'abcdef0123\r456789xyz', 'holds a line break'],
    ['a tab', 'abcdef0123\t456789xyz', 'holds a tab'],
    ['a NUL', 'abcdef0123\u0000456789xyz', 'holds a control character'],
  ])('refuses %s, naming the variable and never the value', (_what, value, message) => {
    const values = goodValues();
    values['NATS_HUNTER_PASSWORD'] = value;
    const text = ['# production values', ...Object.entries(values).map(([k, v]) => `${k}="${v.replace(/[\\"$]/g, '\\$&').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}"`)].join('\n');
    const parsed = parseDotenv(text, 'prod.env');
    expect(parsed.entries.find((e) => e.name === 'NATS_HUNTER_PASSWORD')?.value).toBe(value);
    const findings = checkProductionValues({ sources: [{ origin: 'prod.env', parsed }], ...TITAN_VALUES });
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ check: 'production-values', severity: 'error', file: 'prod.env', line: Object.keys(values).indexOf('NATS_HUNTER_PASSWORD') + 2 });
    expect(findings[0]?.message.startsWith(`NATS_HUNTER_PASSWORD ${message}`), findings[0]?.message).toBe(true);
    expect(findings[0]?.fix).toContain('Generate a new NATS_HUNTER_PASSWORD');
    for (const part of [value, value.slice(0, 8), value.slice(-8)]) expect(JSON.stringify(findings)).not.toContain(JSON.stringify(part).slice(1, -1));
  });

  it('refuses settings too (Compose reads every line of the file), and a tab before a # comment', () => {
    const values = { ...goodValues(), TITAN_REGISTRY: 'registry.example.net/$ORG' };
    const findings = check(values);
    expect(findings.map((f) => f.message)).toEqual([expect.stringMatching(/^TITAN_REGISTRY holds a "\$"/)]);
    const parsed = parseDotenv('A=abc\t# a comment\nB=abc # a comment\n', 'x.env');
    expect(parsed.problems.map((p) => `${p.line} ${p.reason}`)).toEqual([expect.stringMatching(/^1 has a tab before its # comment/)]);
    expect(parsed.entries).toEqual([{ name: 'B', value: 'abc', origin: 'x.env', line: 2 }]);
  });

  it('accepts passwords of every troublesome shape, and Compose v1 reads each exactly as the gate did', () => {
    const values = goodValues();
    const natsNames = Object.keys(values).filter((n) => /^NATS_.*_PASSWORD$/.test(n));
    TROUBLESOME_PASSWORDS.slice(0, natsNames.length).forEach((p, i) => (values[natsNames[i] ?? ''] = p));
    expect(check(values)).toEqual([]);
    for (const p of TROUBLESOME_PASSWORDS) expect(carriageProblem('X', p)).toBeUndefined();
  });

  it('whatever the gate accepts, the real Compose v1 reads byte for byte (bare, single- and double-quoted)', () => {
    const printable = fc.constantFrom(...' !#%&()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_abcdefghijklmnopqrstuvwxyz{|}~üé€日'.split(''));
    const samples = fc.sample(fc.array(printable, { minLength: 16, maxLength: 48 }).map((a) => a.join('')), { numRuns: 60, seed: 8 });
    const accepted = [...TROUBLESOME_PASSWORDS, ...samples].filter((v) => carriageProblem('V', v) === undefined);
    expect(accepted.length).toBeGreaterThan(60);
    const dir = mkdtempSync(join(tmpdir(), 'gate-compose-'));
    const lines = accepted.map((v, i) => (i % 3 === 2 ? `V${i}="${v}"` : `V${i}=${i % 3 === 1 ? `'${v}'` : written(v)}`));
    const env = `# written as an operator would\n${lines.join('\n')}\n`;
    writeFileSync(join(dir, 'prod.env'), env);
    writeFileSync(join(dir, 'compose.yml'), `services:\n  x:\n    image: busybox\n    environment:\n${accepted.map((_, i) => `      V${i}: \${V${i}:?V${i} must be set}`).join('\n')}\n`);

    const parsed = parseDotenv(env, 'prod.env');
    expect(parsed.problems).toEqual([]);
    expect(parsed.entries.map((e) => e.value)).toEqual(accepted);

    const run = spawnSync('docker-compose', ['--env-file', join(dir, 'prod.env'), '-f', join(dir, 'compose.yml'), 'config'], { encoding: 'utf8' });
    expect(run.stderr, 'docker-compose config').not.toMatch(/ERROR/);
    expect(run.status).toBe(0);
    const config = parse(run.stdout, { schema: 'failsafe' }) as { services: { x: { environment: Record<string, string> } } };
    expect(accepted.map((_, i) => config.services.x.environment[`V${i}`])).toEqual(accepted);
  });
});

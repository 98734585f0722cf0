import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ACTION_DIR = resolve(import.meta.dirname, '..');

interface ActionYml {
  description?: string;
  branding?: { icon?: string; color?: string };
  inputs: Record<string, { description?: string; required?: boolean; default?: string }>;
  outputs: Record<string, { description?: string }>;
  runs: { using: string; main: string };
}

describe('action.yml', () => {
  const action = parse(readFileSync(resolve(ACTION_DIR, 'action.yml'), 'utf8')) as ActionYml;

  it('runs the committed bundle on node24, with a description and branding', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js' });
    expect(action.description).toBeTruthy();
    expect(action.branding?.icon).toBeTruthy();
  });

  it('declares and describes every input settings.ts reads and every output main.ts sets', () => {
    const settings = readFileSync(resolve(ACTION_DIR, 'src/settings.ts'), 'utf8');
    const main = readFileSync(resolve(ACTION_DIR, 'src/main.ts'), 'utf8');
    const read = [...settings.matchAll(/reader\.(?:optional|required|choice|lines)\('([a-z-]+)'/g)].map((m) => m[1]);
    const set = [...main.matchAll(/core\.setOutput\('([a-z-]+)'/g)].map((m) => m[1]);
    expect(new Set(read)).toEqual(new Set(Object.keys(action.inputs)));
    expect(new Set(set)).toEqual(new Set(Object.keys(action.outputs)));
    for (const [name, spec] of [...Object.entries(action.inputs), ...Object.entries(action.outputs)]) {
      expect([name, (spec.description ?? '').length > 20]).toEqual([name, true]);
    }
    // Nothing is `required: true`: every input has a default or a documented fallback, and the
    // action names what is missing itself (sha outside GitHub Actions, registry when services.yml has none).
    for (const [name, spec] of Object.entries(action.inputs)) expect([name, spec.required]).toEqual([name, false]);
  });

  it('has its input and output tables in the README, as scripts/action-readme.mjs writes them', () => {
    const readme = readFileSync(resolve(ACTION_DIR, 'README.md'), 'utf8');
    for (const name of Object.keys(action.inputs)) expect(readme).toMatch(new RegExp(`^\\| \`${name}\` \\| no \\|`, 'm'));
    for (const name of Object.keys(action.outputs)) expect(readme).toMatch(new RegExp(`^\\| \`${name}\` \\| `, 'm'));
    expect(readme).toContain("if: needs.matrix.outputs.has-builds == 'true'");
  });
});

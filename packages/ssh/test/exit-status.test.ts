import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as statuses from '@titan/ssh/exit-status';

const ROOT = resolve(import.meta.dirname, '../../..');

/** Every library source file: where the host scripts live, as template strings. */
function sources(): string[] {
  return readdirSync(join(ROOT, 'packages')).flatMap((pkg) => {
    const src = join(ROOT, 'packages', pkg, 'src');
    try {
      return readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => join(src, f));
    } catch {
      return [];
    }
  });
}

describe('exit statuses have one home', () => {
  it('every status is a named constant of @titan/ssh/exit-status, with a value a shell can return', () => {
    const values = Object.entries(statuses);
    expect(values.length).toBeGreaterThan(10);
    for (const [name, value] of values) {
      expect(name).toMatch(/^EXIT_[A-Z_]+$/);
      expect(Number.isInteger(value) && value > 0 && value < 256, name).toBe(true);
    }
  });

  it('no host script exits with, and no runner compares, a bare status other than 0 and 1', () => {
    const bare: string[] = [];
    for (const file of sources()) {
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          // `exit 3` in a script, `exitCode === 3` or `acceptExitCodes: [3]` in the runner; 0 and 1 are success and failure.
          if (/\bexit [2-9]\d*\b|exitCode [!=]== [2-9]|acceptExitCodes: \[[\d, ]*[2-9]/.test(line)) bare.push(`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`);
        });
    }
    // cloud-init's own statuses (2: a recoverable error), not a script of ours.
    expect(bare.filter((l) => !l.startsWith('packages/provision/src/host-session.ts:') || !l.includes("'cloud-init', 'status'"))).toEqual([]);
  });
});

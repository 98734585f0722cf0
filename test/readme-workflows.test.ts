import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '@titan/test-host/action-run';

/**
 * Every workflow example in a README is copied from a workflow file that a test runs: a ```yaml
 * block that holds workflow keys (jobs, steps, uses, runs-on, with) must follow a
 * `<!-- copied from PATH -->` line naming one of the workflows test/workflows/deploy-workflow.test.ts
 * runs, and its lines must be a contiguous run of that file's lines, character for character.
 */
const RUN_BY_TESTS = ['.github/workflows/deploy.yml', '.github/workflows/rollback.yml', 'examples/workflows/titan-release.yml'];
// Workflows no test runs through the local runner yet: their excerpts are checked line for line, and
// the list says what is still to do (provision.yml needs the DigitalOcean API double and the Droplet
// stand-in wired into the runner's test set-up).
const NOT_RUN_YET = ['.github/workflows/provision.yml', '.github/workflows/backup.yml'];
// READMEs whose example no workflow holds yet: action-backup/restore is used by recover.yml, which
// does not exist yet.
const NO_WORKFLOW_YET = ['action-backup/restore/README.md'];
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
    const test = readFileSync(join(REPOSITORY_ROOT, 'test/workflows/deploy-workflow.test.ts'), 'utf8');
    for (const path of RUN_BY_TESTS) expect(test, path).toContain(`'${path}'`);
  });

  it('each is copied, line for line, from a workflow file a test runs', () => {
    const all = examples();
    expect(all.length).toBeGreaterThanOrEqual(7);
    expect(all.some((e) => e.readme === 'README.md' && e.source === 'examples/workflows/titan-release.yml')).toBe(true);
    for (const example of all.filter((e) => !NO_WORKFLOW_YET.includes(e.readme))) {
      const where = `${example.readme}:${example.line}`;
      expect(example.source, `${where}: a workflow example needs a "<!-- copied from PATH -->" line before it`).toBeDefined();
      expect([...RUN_BY_TESTS, ...NOT_RUN_YET], `${where}: ${example.source ?? ''} is not a workflow a test runs`).toContain(example.source);
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

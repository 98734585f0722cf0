/**
 * The host-side check of the secret files a release mounts (SECRET_FILES_SCRIPT), run in a temporary
 * application folder: a good file passes; a missing, empty, loose, foreign-owned file, a folder and a
 * symbolic link are each named with what is wrong, never with the content.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SECRET_FILES_SCRIPT } from '@titan/host/secret-files';

const app = mkdtempSync(join(tmpdir(), 'titan-secret-files-'));
const secrets = join(app, 'shared', 'secrets');
const content = 'a-secret-that-never-shows-up';

afterAll(() => rmSync(app, { recursive: true, force: true }));

describe('SECRET_FILES_SCRIPT', () => {
  it('names every secret file kept wrongly, and passes the ones kept as they must be', () => {
    mkdirSync(secrets, { recursive: true });
    const write = (name: string, mode: number, text = content): void => {
      writeFileSync(join(secrets, name), text);
      chmodSync(join(secrets, name), mode);
    };
    write('good', 0o600);
    write('read-only', 0o400);
    write('loose', 0o644);
    write('empty', 0o600, '');
    write('foreign', 0o600);
    chownSync(join(secrets, 'foreign'), 65534, 65534);
    mkdirSync(join(secrets, 'folder'));
    symlinkSync(join(secrets, 'good'), join(secrets, 'link'));
    const names = ['good', 'read-only', 'loose', 'empty', 'foreign', 'folder', 'link', 'missing'];
    const run = spawnSync('sh', ['-c', SECRET_FILES_SCRIPT, 'titan-secret-files', app, ...names.map((n) => `shared/secrets/${n}`)], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const me = execFileSync('id', ['-un'], { encoding: 'utf8' }).trim();
    const nobody = execFileSync('id', ['-un', '65534'], { encoding: 'utf8' }).trim();
    expect(run.stdout.split('\n').filter((l) => l !== '')).toEqual([
      'shared/secrets/loose\thas mode 0644 (it must be 0600 or 0400: readable by the deploy user only)',
      'shared/secrets/empty\tis empty',
      `shared/secrets/foreign\tis owned by ${nobody} (uid 65534), not by the deploy user ${me}`,
      'shared/secrets/folder\tis not a regular file',
      'shared/secrets/link\tis a symbolic link (it must be the file itself)',
      'shared/secrets/missing\tis missing',
    ]);
    expect(run.stdout).not.toContain(content);
  });
});

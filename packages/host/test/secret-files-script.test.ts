/**
 * The host-side check of the secret files a release mounts (scripts/secret-files.sh), run in a temporary
 * application folder: a good file passes; a missing, empty, loose, foreign-owned file, a folder and a
 * symbolic link are each named with what is wrong, never with the content.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatRecord } from '@titan/host/host-record';
import { localHost } from './support/local-host.js';

const host = localHost('titan-secret-files-');
const secrets = join(host.layout.sharedDir, 'secrets');
const content = 'a-secret-that-never-shows-up';

afterAll(() => host.remove());

describe('titan-secret-files', () => {
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
    const run = host.run('titan-secret-files', names.map((n) => `shared/secrets/${n}`));
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const me = execFileSync('id', ['-un'], { encoding: 'utf8' }).trim();
    const nobody = execFileSync('id', ['-un', '65534'], { encoding: 'utf8' }).trim();
    expect(run.stdout.split('\n').filter((l) => l !== '')).toEqual([
      formatRecord('secret-file', 'shared/secrets/loose', 'has mode 0644 (it must be 0600 or 0400: readable by the deploy user only)'),
      formatRecord('secret-file', 'shared/secrets/empty', 'is empty'),
      formatRecord('secret-file', 'shared/secrets/foreign', `is owned by ${nobody} (uid 65534), not by the deploy user ${me}`),
      formatRecord('secret-file', 'shared/secrets/folder', 'is not a regular file'),
      formatRecord('secret-file', 'shared/secrets/link', 'is a symbolic link (it must be the file itself)'),
      formatRecord('secret-file', 'shared/secrets/missing', 'is missing'),
    ]);
    expect(run.stdout).not.toContain(content);
  });
});

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readDigestsFolder } from '@titan/matrix/digests-folder';
import { MatrixInputError } from '@titan/matrix/matrix-input-error';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const SERVICES = ['titan-brain', 'titan-opsd', 'postgres'];
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'titan-digests-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('digests folder', () => {
  it('reads one digest per service file, with or without a trailing newline', async () => {
    await writeFile(join(dir, 'titan-brain'), `${DIGEST}\n`);
    await writeFile(join(dir, 'titan-opsd'), DIGEST.replace('ab', 'cd'));
    const digests = await readDigestsFolder(dir, SERVICES);
    expect(Object.fromEntries(digests)).toEqual({ 'titan-brain': DIGEST, 'titan-opsd': DIGEST.replace('ab', 'cd') });
  });

  it('lists every malformed file: wrong length, uppercase, a tag, spaces, two lines, empty, unknown service, a folder', async () => {
    const bad: Record<string, string> = {
      'titan-brain': `sha256:${'ab'.repeat(31)}`,
      'titan-opsd': DIGEST.toUpperCase(),
      postgres: ` ${DIGEST}`,
      'titan-hunter': DIGEST,
    };
    for (const [name, text] of Object.entries(bad)) await writeFile(join(dir, name), text);
    const error = await readDigestsFolder(dir, [...SERVICES, 'redis', 'nats', 'grafana']).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MatrixInputError);
    const problems = (error as MatrixInputError).problems.join('\n');
    expect(problems).toContain(`${join(dir, 'titan-brain')}: expected sha256:<64 lowercase hex> and at most one newline; got "sha256:${'ab'.repeat(31)}"`);
    expect(problems).toContain(`${join(dir, 'titan-opsd')}: expected sha256:<64 lowercase hex>`);
    expect(problems).toContain(`${join(dir, 'postgres')}: expected sha256:<64 lowercase hex>`);
    expect(problems).toContain(`${join(dir, 'titan-hunter')}: "titan-hunter" is not a service in services.yml`);

    await rm(dir, { recursive: true });
    await mkdir(join(dir, 'redis'), { recursive: true });
    await writeFile(join(dir, 'nats'), `${DIGEST}\n\n`);
    await writeFile(join(dir, 'grafana'), '');
    const second = await readDigestsFolder(dir, ['redis', 'nats', 'grafana']).then(
      () => '',
      (e: unknown) => String(e),
    );
    expect(second).toContain(`${join(dir, 'redis')}: expected a file holding the digest, found a directory`);
    expect(second).toContain(`${join(dir, 'nats')}: expected sha256:<64 lowercase hex> and at most one newline`);
    expect(second).toContain(`${join(dir, 'grafana')}: expected sha256:<64 lowercase hex> and at most one newline; the file is empty`);
  });

  it('says how to fill a folder that is missing or empty', async () => {
    await expect(readDigestsFolder(join(dir, 'nope'), SERVICES)).rejects.toThrow(
      /nope does not exist: download the build legs' digest artifacts into it first \(actions\/download-artifact with pattern: digest-\* and merge-multiple: true\)/,
    );
    await expect(readDigestsFolder(dir, SERVICES)).rejects.toThrow(/holds no digest files/);
  });
});

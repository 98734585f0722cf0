import { chmod, cp, mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { computeBuildKey, type BuildKeyInputs } from '@titan/matrix/build-key';
import { readBuildContext } from '@titan/matrix/build-context';
import { SAMPLE_RELEASE } from './support/sample-release.js';

let work: string;
let base: BuildKeyInputs;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'titan-key-'));
  // The real titan-service context of the sample release, as titan-execution builds it.
  await cp(join(SAMPLE_RELEASE, 'images/titan-service'), join(work, 'ctx'), { recursive: true });
  base = {
    repository: '127.0.0.1:5000/titan/titan-execution-rs',
    context: join(work, 'ctx'),
    dockerfile: join(work, 'ctx/Dockerfile'),
    buildArgs: [
      ['PORT', '3002'],
      ['SERVICE', 'titan-execution'],
    ],
  };
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const key = (inputs: BuildKeyInputs = base) => computeBuildKey(inputs);

describe('build key', () => {
  it('is a sha256 hex, the same on every run', async () => {
    const first = await key();
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(await key()).toBe(first);
    expect(await key({ ...base, buildArgs: [...base.buildArgs].reverse() })).toBe(first);
  });

  it('does not depend on modification times, where the context lies or the order files were made in', async () => {
    const before = await key();
    await utimes(join(work, 'ctx/entrypoint.sh'), new Date('2001-01-01'), new Date('2001-01-01'));
    await utimes(join(work, 'ctx/Dockerfile'), new Date('2030-01-01'), new Date('2030-01-01'));
    expect(await key()).toBe(before);
    // The same files, written in the other order into another folder.
    const other = join(work, 'elsewhere/ctx');
    await mkdir(other, { recursive: true });
    for (const name of ['entrypoint.sh', 'Dockerfile']) await writeFile(join(other, name), await readFile(join(work, 'ctx', name)));
    // As a checkout under umask 002 leaves them: group-writable, the executable bit where git has it.
    const executable = ((await stat(join(work, 'ctx/entrypoint.sh'))).mode & 0o111) !== 0;
    await chmod(join(other, 'entrypoint.sh'), executable ? 0o775 : 0o664);
    await chmod(join(other, 'Dockerfile'), 0o664);
    expect(await key({ ...base, context: other, dockerfile: join(other, 'Dockerfile') })).toBe(before);
  });

  it('changes with one byte of a context file', async () => {
    const before = await key();
    const file = join(work, 'ctx/entrypoint.sh');
    const bytes = await readFile(file);
    bytes[bytes.length - 2] = (bytes[bytes.length - 2] ?? 0) ^ 1;
    await writeFile(file, bytes);
    expect(await key()).not.toBe(before);
  });

  it('changes with a build arg, the Dockerfile, the platform, the repository, a new or renamed file, the executable bit', async () => {
    const before = await key();
    expect(await key({ ...base, buildArgs: [['PORT', '3003'], ['SERVICE', 'titan-execution']] })).not.toBe(before);
    expect(await key({ ...base, buildArgs: [...base.buildArgs, ['BROKEN', '1']] })).not.toBe(before);
    expect(await key({ ...base, platform: 'linux/amd64' })).not.toBe(before);
    expect(await key({ ...base, repository: 'ghcr.io/acme/titan-execution-rs' })).not.toBe(before);

    await writeFile(join(work, 'ctx/Dockerfile'), `${await readFile(join(work, 'ctx/Dockerfile'), 'utf8')}\n`);
    const afterDockerfile = await key();
    expect(afterDockerfile).not.toBe(before);

    await chmod(join(work, 'ctx/entrypoint.sh'), 0o644);
    const notExecutable = await key();
    await chmod(join(work, 'ctx/entrypoint.sh'), 0o755);
    const afterChmod = await key();
    expect(afterChmod).not.toBe(notExecutable);

    await writeFile(join(work, 'ctx/extra.txt'), 'x');
    const afterNewFile = await key();
    expect(afterNewFile).not.toBe(afterChmod);
    await rm(join(work, 'ctx/extra.txt'));
    await writeFile(join(work, 'ctx/extra2.txt'), 'x');
    expect(await key()).not.toBe(afterNewFile);
  });

  it('counts a Dockerfile outside the context', async () => {
    const outside = join(work, 'Dockerfile.prod');
    await cp(join(work, 'ctx/Dockerfile'), outside);
    const inputs = { ...base, dockerfile: outside };
    const before = await key(inputs);
    await writeFile(outside, 'FROM scratch\n');
    expect(await key(inputs)).not.toBe(before);
  });

  it('leaves out what .dockerignore leaves out, and counts the rest', async () => {
    await writeFile(join(work, 'ctx/.dockerignore'), 'notes/\n*.md\n!KEEP.md\n');
    await mkdir(join(work, 'ctx/notes'));
    await writeFile(join(work, 'ctx/notes/todo.txt'), 'one');
    await writeFile(join(work, 'ctx/README.md'), 'one');
    await writeFile(join(work, 'ctx/KEEP.md'), 'one');
    const before = await key();
    const { entries, ignoreFile } = await readBuildContext(base.context, base.dockerfile);
    expect(ignoreFile).toBe(join(work, 'ctx/.dockerignore'));
    expect(entries.map((e) => e.path)).toEqual(['.dockerignore', 'Dockerfile', 'KEEP.md', 'entrypoint.sh']);
    expect(entries.find((e) => e.path === 'KEEP.md')).toEqual({
      path: 'KEEP.md',
      mode: '100644',
      sha256: '7692c3ad3540bb803c020b3aee66cd8887123234ea0c6e7143c0add73ff431ed', // sha256("one")
    });

    await writeFile(join(work, 'ctx/notes/todo.txt'), 'two');
    await writeFile(join(work, 'ctx/README.md'), 'two');
    expect(await key()).toBe(before);
    await writeFile(join(work, 'ctx/KEEP.md'), 'two');
    expect(await key()).not.toBe(before);
  });

  it('uses <Dockerfile>.dockerignore over the context one when it exists', async () => {
    await writeFile(join(work, 'ctx/.dockerignore'), '');
    await writeFile(join(work, 'ctx/Dockerfile.dockerignore'), 'scratch.txt\n');
    await writeFile(join(work, 'ctx/scratch.txt'), 'one');
    const before = await key();
    await writeFile(join(work, 'ctx/scratch.txt'), 'two');
    expect(await key()).toBe(before);
  });
});

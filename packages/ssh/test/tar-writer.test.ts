import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, test } from 'vitest';
import { UploadError } from '@titan/ssh/errors';
import { scanTree, tarTree } from '@titan/ssh/tar-writer';

const made: string[] = [];
function temp(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** `type mode size path -> target` for every entry, as find sees it, sorted. */
function listing(root: string): string {
  return execFileSync('find', ['.', '-mindepth', '1', '-printf', '%y %m %s %P -> %l\\n'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => (l.startsWith('d ') ? l.replace(/^d (\d+) \d+ /, 'd $1 - ') : l))
    .sort()
    .join('\n');
}

function checksums(root: string): string {
  return execFileSync('sh', ['-c', 'find . -type f -print0 | sort -z | xargs -0 -r sha256sum'], { cwd: root, encoding: 'utf8' });
}

function makeTree(): string {
  const root = temp('titan-tar-src-');
  mkdirSync(join(root, 'bin'));
  writeFileSync(join(root, 'bin', 'run.sh'), '#!/bin/sh\necho run\n');
  chmodSync(join(root, 'bin', 'run.sh'), 0o755);
  mkdirSync(join(root, 'secret'), { mode: 0o700 });
  writeFileSync(join(root, 'secret', '.env.prod'), 'TOKEN=x\n');
  chmodSync(join(root, 'secret', '.env.prod'), 0o600);
  writeFileSync(join(root, 'group-read.conf'), 'a=1\n');
  chmodSync(join(root, 'group-read.conf'), 0o640);
  writeFileSync(join(root, 'empty'), '');
  writeFileSync(join(root, 'block'), Buffer.alloc(512, 7));
  writeFileSync(join(root, 'odd'), Buffer.alloc(513, 9));
  const deep = join(root, 'a'.repeat(60), 'b'.repeat(60), 'c'.repeat(60));
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, `${'long-file-name-'.repeat(8)}.txt`), 'deep\n');
  writeFileSync(join(root, 'ünïcødé 日本 name.txt'), 'unicode\n');
  symlinkSync('bin/run.sh', join(root, 'link-to-run'));
  symlinkSync(`../${'x'.repeat(120)}`, join(root, 'bin', 'long-link'));
  mkdirSync(join(root, 'sticky'));
  chmodSync(join(root, 'sticky'), 0o1777);
  mkdirSync(join(root, 'setgid'));
  chmodSync(join(root, 'setgid'), 0o2750);
  chmodSync(root, 0o750);
  return root;
}

async function extract(stream: NodeJS.ReadableStream, into: string): Promise<string> {
  const tar = spawn('tar', ['-x', '-o', '-p', '-f', '-', '-C', into], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  tar.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => tar.on('close', resolve));
  await pipeline(stream, tar.stdin);
  expect(await exited).toBe(0);
  return stderr;
}

describe('tarTree', () => {
  test('GNU tar extracts a byte-identical tree: modes, long and unicode names, symlinks, empty dirs', async () => {
    const source = makeTree();
    mkdirSync(join(source, 'empty-dir'));
    const target = temp('titan-tar-dst-');
    const { stream, stats } = await tarTree(source);
    const stderr = await extract(stream, target);
    expect(stderr).toBe('');
    expect(listing(target)).toBe(listing(source));
    expect(checksums(target)).toBe(checksums(source));
    expect(execFileSync('stat', ['-c', '%a', target], { encoding: 'utf8' }).trim()).toBe('750');
    expect(stats).toEqual({ files: 8, directories: 9, symlinks: 2, bytes: 19 + 8 + 4 + 0 + 512 + 513 + 5 + 8 });
  });

  test('GNU tar lists the archive without complaint', async () => {
    const { stream } = await tarTree(makeTree());
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    const archive = Buffer.concat(chunks);
    expect(archive.length % 512).toBe(0);
    const out = execFileSync('tar', ['-tvf', '-'], { input: archive, encoding: 'utf8' });
    expect(out).toContain('link-to-run -> bin/run.sh');
    expect(out).toMatch(/^-rwx------? |^-rw------- /m);
  });

  test('symlinks can be refused, before anything is streamed', async () => {
    const source = makeTree();
    await expect(scanTree(source, { symlinks: 'refuse' })).rejects.toThrow(UploadError);
    await expect(scanTree(source, { symlinks: 'refuse' })).rejects.toThrow(/long-link is a symbolic link and symbolic links were refused/);
  });

  test('a FIFO (or socket, or device) is refused with its path', async () => {
    const source = makeTree();
    execFileSync('mkfifo', [join(source, 'bin', 'pipe')]);
    await expect(scanTree(source)).rejects.toThrow(/bin\/pipe is not a regular file, directory or symbolic link/);
  });

  test('the root must be a directory', async () => {
    const source = makeTree();
    await expect(scanTree(join(source, 'empty'))).rejects.toThrow(/is not a directory/);
  });
});

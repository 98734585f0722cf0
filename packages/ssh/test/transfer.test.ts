/**
 * Moving bytes over the real test host: a 50 MB tree as one tar stream (byte-identical, modes
 * kept), single files written atomically with their mode, and a 200 MB remote stream hashed locally
 * with flat memory (backpressure all the way to the remote process).
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { SshConnection } from '@titan/ssh/connection';
import { UploadError } from '@titan/ssh/errors';
import { connectToTestHost } from './support.js';

let connection: SshConnection;
let scratch: string;
const localDirs: string[] = [];

/** A local temporary directory, removed after the file's tests. */
function localTemp(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  localDirs.push(dir);
  return dir;
}

beforeAll(async () => {
  ({ connection } = await connectToTestHost());
  scratch = (await connection.run(['mktemp', '-d', '/tmp/titan-ssh-transfer.XXXXXX'])).stdout.trim();
});

afterAll(async () => {
  await connection.run(['rm', '-rf', '--', scratch]);
  await connection.close();
  for (const dir of localDirs) rmSync(dir, { recursive: true, force: true });
});

// The same listing and checksums, computed with the same tools, on either side.
const LISTING = `cd "$1" && stat -c '%a' . && find . -mindepth 1 -printf '%y %m %P -> %l\\n' | LC_ALL=C sort`;
const CHECKSUMS = `cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum`;

function local(script: string, dir: string): string {
  return execFileSync('sh', ['-c', script, 'sh', dir], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

async function remote(script: string, dir: string): Promise<string> {
  return (await connection.runScript(script, [dir], { logOutput: 'none' })).stdout;
}

/** A ~50 MB tree: several levels of directories, mixed file and directory modes, symlinks, empty entries. */
function makeTree(): { root: string; bytes: number; files: number } {
  const root = localTemp('titan-upload-tree-');
  const fileModes = [0o644, 0o755, 0o600, 0o640, 0o444, 0o700, 0o750];
  const dirModes = [0o755, 0o750, 0o700, 0o2775];
  let bytes = 0;
  let files = 0;
  const sizes = [5_000_000, 5_000_000, 5_000_000, 5_000_000, ...Array.from({ length: 280 }, (_, i) => (i % 7 === 0 ? 300_000 + i * 1000 : (i * 977) % 4096))];
  sizes.forEach((size, i) => {
    const dir = join(root, `service-${i % 6}`, `layer-${i % 4}`, i % 3 === 0 ? 'deep/er' : '');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `file-${i}${i % 5 === 0 ? ' with spaces' : ''}.bin`);
    writeFileSync(path, randomBytes(size));
    chmodSync(path, fileModes[i % fileModes.length] ?? 0o644);
    bytes += size;
    files += 1;
  });
  while (bytes < 50_000_000) {
    const size = Math.min(2_000_000, 50_000_000 - bytes);
    const path = join(root, `filler-${files}.bin`);
    writeFileSync(path, randomBytes(size));
    bytes += size;
    files += 1;
  }
  mkdirSync(join(root, 'empty-dir'));
  writeFileSync(join(root, 'empty-file'), '');
  files += 1;
  symlinkSync('service-0/layer-0/file-4.bin', join(root, 'current'));
  symlinkSync('../../outside', join(root, 'service-1', 'dangling'));
  execFileSync('sh', ['-c', 'find "$1" -mindepth 1 -type d -print0 | sort -z | xargs -0 -n1 echo', 'sh', root], { encoding: 'utf8' })
    .split('\n')
    .filter((d) => d.length > 0)
    .forEach((dir, i) => chmodSync(dir, dirModes[i % dirModes.length] ?? 0o755));
  chmodSync(root, 0o750);
  return { root, bytes, files };
}

describe('uploadTree', () => {
  test('a 50 MB tree arrives byte-identical with its modes, as one tar stream', async () => {
    const tree = makeTree();
    expect(tree.bytes).toBeGreaterThanOrEqual(50_000_000);
    const target = `${scratch}/release`;
    const stats = await connection.uploadTree(tree.root, target);
    expect(stats.bytes).toBe(tree.bytes);
    expect(stats.files).toBe(tree.files);
    expect(stats.symlinks).toBe(2);
    const localListing = local(LISTING, tree.root);
    expect(localListing).toMatch(/^750\n/);
    expect(localListing).toContain('f 600 ');
    expect(localListing).toContain('f 640 ');
    expect(localListing).toContain('f 755 ');
    expect(localListing).toContain('d 2775 ');
    expect(await remote(LISTING, target)).toBe(localListing);
    expect(await remote(CHECKSUMS, target)).toBe(local(CHECKSUMS, tree.root));
    console.log(`uploadTree: ${(tree.bytes / 1e6).toFixed(1)} MB in ${stats.files} files in ${stats.durationMs} ms`);
  });

  test('refuses what it cannot send before sending anything', async () => {
    const root = localTemp('titan-upload-refused-');
    writeFileSync(join(root, 'a'), 'a');
    symlinkSync('a', join(root, 'link'));
    const target = `${scratch}/refused`;
    await expect(connection.uploadTree(root, target, { symlinks: 'refuse' })).rejects.toThrow(UploadError);
    const exists = await connection.run(['test', '-e', target], { acceptExitCodes: [1] });
    expect(exists.exitCode).toBe(1);
  });
});

describe('uploadFile', () => {
  test('a Buffer, a local file and a stream land with their mode, atomically', async () => {
    const data = randomBytes(300_000);
    await connection.uploadFile(data, `${scratch}/files/secret.env`, { mode: 0o600 });
    const localPath = join(localTemp('titan-upload-file-'), 'run.sh');
    writeFileSync(localPath, '#!/bin/sh\necho ok\n');
    chmodSync(localPath, 0o755);
    await connection.uploadFile(localPath, `${scratch}/files/run.sh`);
    await connection.uploadFile(Readable.from([Buffer.from('a'), Buffer.from('b')]), `${scratch}/files/streamed`);
    const listing = await connection.runScript(`cd "$1" && stat -c '%a %s %n' * && sha256sum secret.env`, [`${scratch}/files`]);
    expect(listing.stdout).toBe(
      `755 18 run.sh\n600 300000 secret.env\n644 2 streamed\n${createHash('sha256').update(data).digest('hex')}  secret.env\n`,
    );
    expect((await connection.run([`${scratch}/files/run.sh`])).stdout).toBe('ok\n');
    // Overwriting replaces the file (rename), leaving no temporary file behind.
    await connection.uploadFile(Buffer.from('new'), `${scratch}/files/streamed`, { mode: 0o640 });
    const after = await connection.runScript(`cd "$1" && ls -A && stat -c %a streamed && cat streamed`, [`${scratch}/files`]);
    expect(after.stdout).toBe('run.sh\nsecret.env\nstreamed\n640\nnew');
  });
});

describe('streamStdout', () => {
  test('a 200 MB remote stream reaches a local sha256 with flat memory', async () => {
    const big = `${scratch}/big`;
    await connection.run(['sh', '-c', 'head -c 200M /dev/urandom > "$1"', 'sh', big]);
    const expected = (await connection.run(['sha256sum', big])).stdout.split(' ')[0];

    const hash = createHash('sha256');
    let chunks = 0;
    // A consumer slower than the network at times: without backpressure, data would pile up here.
    const destination = new Writable({
      highWaterMark: 256 * 1024,
      write(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        chunks += 1;
        if (chunks % 16 === 0) setTimeout(callback, 2);
        else callback();
      },
    });
    // Measure what is retained, not garbage waiting for collection: collect before each sample.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const base = process.memoryUsage();
    let peakRss = base.rss;
    let peakBuffers = base.arrayBuffers;
    let samples = 0;
    const sampler = setInterval(() => {
      gc();
      const now = process.memoryUsage();
      peakRss = Math.max(peakRss, now.rss);
      peakBuffers = Math.max(peakBuffers, now.arrayBuffers);
      samples += 1;
    }, 50);
    try {
      const result = await connection.streamStdout(['cat', big], destination);
      expect(result.bytes).toBe(200 * 1024 * 1024);
    } finally {
      clearInterval(sampler);
    }
    expect(hash.digest('hex')).toBe(expected);
    const rssGrowth = (peakRss - base.rss) / 1024 / 1024;
    const bufferGrowth = (peakBuffers - base.arrayBuffers) / 1024 / 1024;
    console.log(`streamStdout 200 MB: ${samples} samples, peak rss +${rssGrowth.toFixed(1)} MB, arrayBuffers +${bufferGrowth.toFixed(1)} MB`);
    expect(samples).toBeGreaterThan(5);
    expect(rssGrowth).toBeLessThan(64);
    expect(bufferGrowth).toBeLessThan(64);
  });

  test('a failing destination stops the stream and the remote command', async () => {
    let written = 0;
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        written += chunk.length;
        callback(written > 1_000_000 ? new Error('disk full') : null);
      },
    });
    await expect(connection.streamStdout(['sh', '-c', 'exec cat /dev/zero # 77.8181'], destination)).rejects.toThrow('disk full');
    const left = await connection.run(['pgrep', '-f', '77.8181'], { acceptExitCodes: [1] });
    expect(left.stdout).toBe('');
  });

  test('a failing remote command is reported after its output', async () => {
    const sink: Buffer[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        sink.push(chunk);
        callback();
      },
    });
    await expect(connection.streamStdout(['sh', '-c', 'echo partial; echo "pg_dump: error" >&2; exit 1'], destination)).rejects.toThrow(
      /exited with status 1[\s\S]*pg_dump: error/,
    );
    expect(Buffer.concat(sink).toString()).toBe('partial\n');
  });
});

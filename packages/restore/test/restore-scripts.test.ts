/**
 * The shell a restore runs on the host's containers: POSIX sh, shellcheck-clean; and the Redis swap
 * for real, with the machine's own redis-server 7 (append-only persistence on, as the stack runs it):
 * after the swap Redis starts with exactly the backup's keys, and what it replaced is kept aside.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PG_RENAME_SCRIPT, PG_RESTORE_SCRIPT } from '../src/postgres-restore.js';
import { REDIS_STAGE_SCRIPT, REDIS_SWAP_SCRIPT, stagedName } from '../src/redis-restore.js';

const scripts = mkdtempSync(join(tmpdir(), 'titan-restore-scripts-'));

function cli(socket: string, args: string[]): string {
  return execFileSync('redis-cli', ['-s', socket, ...args], { encoding: 'utf8' }).trim();
}

/** A redis-server on a socket in `dir` (appendonly on); resolves once it answers PING. */
async function redisIn(dir: string): Promise<{ socket: string; stop(): Promise<void> }> {
  const socket = join(dir, 'redis.sock');
  const child = spawn('redis-server', ['--port', '0', '--unixsocket', socket, '--dir', dir, '--appendonly', 'yes', '--save', ''], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    if (existsSync(socket) && spawnSync('redis-cli', ['-s', socket, 'PING'], { encoding: 'utf8' }).stdout.includes('PONG')) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    socket,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        cli(socket, ['SHUTDOWN', 'NOSAVE']);
      }),
  };
}

describe('restore scripts', () => {
  for (const [name, text] of Object.entries({ REDIS_STAGE_SCRIPT, REDIS_SWAP_SCRIPT, PG_RESTORE_SCRIPT, PG_RENAME_SCRIPT })) {
    it(`${name} is POSIX sh, set -eu, shellcheck-clean`, () => {
      expect(text.startsWith('set -eu\n')).toBe(true);
      const file = join(scripts, `${name}.sh`);
      writeFileSync(file, `#!/bin/sh\n${text}`);
      const check = spawnSync('shellcheck', ['-s', 'sh', '-S', 'style', file], { encoding: 'utf8' });
      expect(`${check.stdout}${check.stderr}`).toBe('');
      expect(spawnSync('busybox', ['sh', '-n', file], { encoding: 'utf8' }).stderr).toBe('');
    });
  }

  it('the swap makes a Redis 7 with append-only persistence start with the backup\'s keys, the old data kept', async () => {
    // The backup: an RDB of 300 keys, made by a real redis-server.
    const source = mkdtempSync(join(tmpdir(), 'titan-redis-src-'));
    const a = await redisIn(source);
    cli(a.socket, ['EVAL', "for i = 1, 300 do redis.call('SET', 'backup:' .. i, i) end", '0']);
    cli(a.socket, ['SAVE']);
    await a.stop();
    // The live Redis: other keys, in its append-only folder.
    const data = mkdtempSync(join(tmpdir(), 'titan-redis-live-'));
    const b = await redisIn(data);
    cli(b.socket, ['EVAL', "for i = 1, 42 do redis.call('SET', 'live:' .. i, i) end", '0']);
    await b.stop();
    expect(existsSync(join(data, 'appendonlydir'))).toBe(true);
    const id = '20261201T021700Z-3f9a1c';
    execFileSync('cp', [join(source, 'dump.rdb'), join(data, stagedName(id))]);
    execFileSync('sh', ['-c', REDIS_SWAP_SCRIPT, 'titan-redis-swap', data, stagedName(id), `pre-restore-${id}`]);
    const c = await redisIn(data);
    expect(cli(c.socket, ['DBSIZE'])).toBe('300');
    expect(cli(c.socket, ['GET', 'backup:7'])).toBe('7');
    await c.stop();
    expect(readdirSync(data).filter((f) => f.includes('pre-restore')).sort()).toEqual([`appendonlydir.pre-restore-${id}`]);
  });
});

/**
 * Remote commands on the real test host: quoting against injection, fixed PATH, stdin, exit status,
 * signals, timeouts and aborts that kill the remote process group, output streaming, secrets, and a
 * connection cut mid-command.
 */
import { Readable } from 'node:stream';
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { RecordingLogger } from '@titan/log/logger';
import type { SshConnection } from '@titan/ssh/connection';
import { CommandAbortedError, CommandFailedError, CommandTimeoutError, ConnectionLostError } from '@titan/ssh/errors';
import { REMOTE_PATH } from '@titan/ssh/command-line';
import { secret } from '@titan/ssh/shell-quote';
import { connectToTestHost } from './support.js';

let connection: SshConnection;
let logger: RecordingLogger;
let scratch: string;

beforeAll(async () => {
  ({ connection, logger } = await connectToTestHost());
  scratch = (await connection.run(['mktemp', '-d', '/tmp/titan-ssh-test.XXXXXX'])).stdout.trim();
});

afterAll(async () => {
  await connection.run(['rm', '-rf', '--', scratch]);
  await connection.close();
});

/** Processes on the host whose command line contains `needle` (pgrep over a fresh command). */
async function remoteProcesses(needle: string): Promise<string> {
  const result = await connection.run(['pgrep', '-a', '-f', needle], { acceptExitCodes: [1] });
  return result.stdout.trim();
}

function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the command to fail');
    },
    (error: unknown) => error,
  );
}

describe('arguments are taken literally', () => {
  test('every shell metacharacter, quote, newline, glob and leading dash comes back as it was sent', async () => {
    const injected = `${scratch}/injected`;
    const args = [
      `; touch ${injected}-semicolon`,
      `| touch ${injected}-pipe`,
      `& touch ${injected}-amp`,
      `$(touch ${injected}-subst)`,
      `\`touch ${injected}-backtick\``,
      `' ; touch ${injected}-quote ; '`,
      `" ; touch ${injected}-dquote ; "`,
      `line one\ntouch ${injected}-newline`,
      '*',
      '-n',
      '--version',
      '$HOME ~ !',
      '',
      'ü 日本',
    ];
    const result = await connection.run(['printf', '%s\\0', ...args]);
    expect(result.stdout.split('\0').slice(0, -1)).toEqual(args);
    const found = await connection.run(['find', scratch, '-name', 'injected*'], { acceptExitCodes: [1] });
    expect(found.stdout).toBe('');
  });

  test('files named by hostile strings are created with exactly those names, and nothing else runs', async () => {
    const dir = `${scratch}/names`;
    await connection.run(['mkdir', '-p', dir]);
    const names = ['-rf', '; rm -rf ~', '$(id)', '`id`', "it's", 'say "hi"', 'two\nlines', '*', '&&', '|', 'a b', '\\', '#'];
    await connection.run(['touch', '--', ...names.map((name) => `${dir}/${name}`)]);
    const listed = await connection.run(['find', dir, '-mindepth', '1', '-printf', '%f\\0']);
    expect(listed.stdout.split('\0').slice(0, -1).sort()).toEqual([...names].sort());
    expect((await connection.run(['sh', '-c', 'ls -A ~ | wc -l'])).stdout.trim()).not.toBe('0');
  });

  test('commands run with the fixed PATH', async () => {
    expect((await connection.run(['sh', '-c', 'printf %s "$PATH"'])).stdout).toBe(REMOTE_PATH);
  });

  test('a trusted script runs with quoted arguments, in sh or bash', async () => {
    const out = await connection.runScript('printf "%s|" "$0" "$#" "$@"', ['a b', "c'd"], { name: 'probe' });
    expect(out.stdout).toBe("probe|2|a b|c'd|");
    const bash = await connection.runScript('set -euo pipefail; echo "${BASH_VERSION%%.*}" "$1"', ['x'], { shell: 'bash' });
    expect(bash.stdout).toMatch(/^\d+ x\n$/);
  });
});

describe('stdin', () => {
  test('a string, a Buffer and a stream reach the command', async () => {
    expect((await connection.run(['cat'], { stdin: 'from a string\n' })).stdout).toBe('from a string\n');
    expect((await connection.run(['cat'], { stdin: Buffer.from('from a buffer') })).stdout).toBe('from a buffer');
    const data = randomBytes(5 * 1024 * 1024);
    const digest = createHash('sha256').update(data).digest('hex');
    const chunks = Array.from({ length: 80 }, (_, i) => data.subarray(i * 65536, (i + 1) * 65536));
    const remote = await connection.run(['sha256sum'], { stdin: Readable.from(chunks) });
    expect(remote.stdout.split(' ')[0]).toBe(digest);
  });

  test('without stdin the command sees end-of-file at once', async () => {
    expect((await connection.run(['cat'], { timeoutMs: 5000 })).stdout).toBe('');
  });
});

describe('failures carry the exit status or signal and the tail of stderr', () => {
  test('a non-zero exit', async () => {
    const error = await failure(connection.run(['sh', '-c', 'echo out; for i in $(seq 1 30); do echo err-$i >&2; done; exit 7']));
    expect(error).toBeInstanceOf(CommandFailedError);
    const failed = error as CommandFailedError;
    expect(failed.exitCode).toBe(7);
    expect(failed.signal).toBeNull();
    expect(failed.stderrTail.split('\n')).toEqual(Array.from({ length: 20 }, (_, i) => `err-${i + 11}`));
    expect(failed.message).toContain('exited with status 7');
    expect(failed.message).toContain("sh -c 'echo out; for i in $(seq 1 30)");
    expect(failed.message).toContain('err-30');
    expect(failed.message).not.toContain('titan-ssh-pgid');
  });

  test('the tail is bounded to 4 KB however long the lines', async () => {
    const error = (await failure(connection.run(['sh', '-c', 'head -c 100000 /dev/zero | tr "\\0" x >&2; exit 1']))) as CommandFailedError;
    expect(error.stderrTail.length).toBeLessThanOrEqual(4096);
  });

  test('listed exit codes count as success', async () => {
    const result = await connection.run(['grep', 'nothing', '/etc/hostname'], { acceptExitCodes: [1] });
    expect(result.exitCode).toBe(1);
  });

  test('a command killed by a signal', async () => {
    const error = await failure(connection.run(['sh', '-c', 'echo about to die >&2; kill -TERM $$']));
    expect(error).toBeInstanceOf(CommandFailedError);
    expect((error as CommandFailedError).signal).toBe('TERM');
    expect((error as CommandFailedError).exitCode).toBeNull();
    expect(String(error)).toContain('was killed by signal TERM');
    expect(String(error)).toContain('about to die');
  });

  test('a command past its timeout fails with its stderr, and its whole remote process group is gone', async () => {
    const started = performance.now();
    const error = await failure(
      connection.run(['sh', '-c', 'echo started >&2; sleep 300.4242 & sleep 300.4243 | cat; wait'], { timeoutMs: 1000 }),
    );
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(CommandTimeoutError);
    expect(String(error)).toContain('timed out after 1000 ms and its remote process group was killed');
    expect((error as CommandTimeoutError).stderrTail).toBe('started');
    expect(elapsed).toBeLessThan(3000);
    expect(await remoteProcesses('sleep 300.424')).toBe('');
  });

  test('a background child that keeps stdout open does not hold a command past its timeout, even after the command exited 0', async () => {
    const started = performance.now();
    const error = await failure(
      connection.runScript('echo started; echo working >&2; (sleep 300.7373; echo late) & exit 0', [], { name: 'leaves-a-child', timeoutMs: 1000 }),
    );
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(CommandTimeoutError);
    expect(String(error)).toContain('timed out after 1000 ms (the command itself had exited with status 0, but a process it started kept its output open) and its remote process group was killed');
    expect((error as CommandTimeoutError).stderrTail).toBe('working');
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    expect(elapsed).toBeLessThan(3500);
    expect(await remoteProcesses('sleep 300.7373')).toBe('');
  });

  test('a process group that ignores SIGTERM gets SIGKILL after the grace period', async () => {
    const started = performance.now();
    const error = await failure(
      connection.run(['sh', '-c', 'trap "" TERM; echo ignoring >&2; sleep 300.5151; sleep 300.5152'], { timeoutMs: 500, killGraceMs: 700 }),
    );
    expect(error).toBeInstanceOf(CommandTimeoutError);
    expect(performance.now() - started).toBeGreaterThanOrEqual(1100);
    expect(await remoteProcesses('sleep 300.515')).toBe('');
  });

  test('aborting through an AbortSignal kills the remote process group', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('deploy cancelled')), 300);
    const error = await failure(connection.run(['sleep', '300.6262'], { signal: controller.signal }));
    expect(error).toBeInstanceOf(CommandAbortedError);
    expect(String(error)).toContain('deploy cancelled');
    expect(await remoteProcesses('sleep 300.6262')).toBe('');
  });
});

describe('output', () => {
  test('lines are streamed while the command runs, and stdout is also returned', async () => {
    const seen: { line: string; at: number }[] = [];
    const started = performance.now();
    const result = await connection.run(['sh', '-c', 'echo one; echo warn >&2; sleep 0.6; echo two'], {
      logOutput: 'info',
      onStdoutLine: (line) => seen.push({ line, at: performance.now() - started }),
    });
    const finished = performance.now() - started;
    expect(result.stdout).toBe('one\ntwo\n');
    expect(seen.map((s) => s.line)).toEqual(['one', 'two']);
    expect(finished - (seen[0]?.at ?? finished)).toBeGreaterThan(400);
    const info = logger.lines.filter((l) => l.level === 'info').map((l) => l.message);
    expect(info).toEqual(expect.arrayContaining(['one', 'warn', 'two']));
  });

  test('captured stdout is capped (and flagged), or not captured at all', async () => {
    const capped = await connection.run(['head', '-c', '5000', '/dev/zero'], { maxStdoutBytes: 1000, logOutput: 'none' });
    expect(capped.stdout.length).toBe(1000);
    expect(capped.stdoutTruncated).toBe(true);
    const none = await connection.run(['echo', 'hi'], { captureStdout: false });
    expect(none.stdout).toBe('');
  });

  test('secret arguments are redacted from logs, output lines and errors', async () => {
    const token = `tok-${randomBytes(6).toString('hex')}`;
    const error = await failure(
      connection.run(['sh', '-c', 'echo "using $1"; echo "bad token $1" >&2; exit 3', 'sh', secret(token, 'registry token')], { logOutput: 'info' }),
    );
    expect(error).toBeInstanceOf(CommandFailedError);
    expect(String(error)).not.toContain(token);
    expect(String(error)).toContain('<registry token>');
    expect(String(error)).toContain('bad token ***');
    expect(logger.text()).not.toContain(token);
    expect(logger.text()).toContain('using ***');
  });

  test('more commands at once than session channels: they queue and all succeed', async () => {
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => connection.run(['echo', String(i)])));
    expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 30 }, (_, i) => `${i}\n`));
  });
});

describe('closing', () => {
  test('close() kills the remote process groups of commands still running, which reject as aborted', async () => {
    const { connection: own } = await connectToTestHost();
    const pending = failure(own.run(['sh', '-c', 'sleep 300.8484 & sleep 300.8485; wait']));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await own.close();
    const error = await pending;
    expect(error).toBeInstanceOf(CommandAbortedError);
    expect(String(error)).toContain('the SSH connection was closed by the caller');
    expect(await remoteProcesses('sleep 300.848')).toBe('');
    await expect(own.run(['true'])).rejects.toThrow(ConnectionLostError);
  });

  test('`await using` closes the connection at the end of the scope', async () => {
    let kept: SshConnection | undefined;
    {
      await using own = (await connectToTestHost()).connection;
      kept = own;
      expect((await own.run(['echo', 'in scope'])).stdout).toBe('in scope\n');
    }
    expect(kept.closed).toBe(true);
  });

  test('a command that exits without reading its stdin does not hang on it', async () => {
    const big = Readable.from((function* () {
      for (let i = 0; i < 400; i += 1) yield Buffer.alloc(64 * 1024, i);
    })());
    const result = await connection.run(['true'], { stdin: big, timeoutMs: 10_000 });
    expect(result.exitCode).toBe(0);
  });
});

describe('a connection cut mid-command', () => {
  test('rejects the pending command at once with ConnectionLostError, and every later call too', async () => {
    const { connection: doomed } = await connectToTestHost();
    const pending = failure(doomed.run(['sleep', '300.7373']));
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Kill the sshd process serving this very connection (the parent of the command's shell).
    const cutAt = performance.now();
    const killer = failure(doomed.run(['sh', '-c', 'kill -9 $PPID']));
    const error = await pending;
    const reportedAfter = performance.now() - cutAt;
    expect(error).toBeInstanceOf(ConnectionLostError);
    expect(String(error)).toContain('was lost during the command sleep 300.7373');
    expect(reportedAfter).toBeLessThan(1000);
    expect(await killer).toBeInstanceOf(ConnectionLostError);
    expect(doomed.closed).toBe(true);
    const started = performance.now();
    await expect(doomed.run(['true'])).rejects.toThrow(ConnectionLostError);
    expect(performance.now() - started).toBeLessThan(50);
    await doomed.close();
    // The orphaned sleep is not ours to leave behind.
    await connection.run(['pkill', '-f', 'sleep 300.7373'], { acceptExitCodes: [1] });
  });
});

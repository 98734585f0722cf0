import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { SshConfigError } from '@titan/ssh/errors';
import { REMOTE_PATH, renderCommand } from '@titan/ssh/command-line';
import { commandLine, displayCommand, quoteArg, redact, secret, secretValues } from '@titan/ssh/shell-quote';

const NASTY = [
  '; touch /tmp/pwned',
  '| cat /etc/passwd',
  '& echo bg',
  '$(id)',
  '`id`',
  "it's",
  'say "hi"',
  'two\nlines',
  '*',
  '-rf',
  '--',
  '',
  ' ',
  '\\',
  '$HOME',
  '~',
  'a=b',
  '#comment',
  '!',
  "'",
  "''",
  '\t',
  'ü ñ 日本',
];

/** What a local POSIX shell makes of the quoted arguments: printf '%s\0' echoes them back. */
function roundTrip(shell: string, args: readonly string[]): string[] {
  const out = execFileSync(shell, ['-c', `printf '%s\\0' ${commandLine(args)}`], { encoding: 'utf8' });
  return out.split('\0').slice(0, -1);
}

describe('quoteArg', () => {
  test('leaves plain words alone and single-quotes everything else', () => {
    expect(quoteArg('docker')).toBe('docker');
    expect(quoteArg('-p')).toBe('-p');
    expect(quoteArg('127.0.0.1:5000/titan/brain@sha256:abc')).toBe('127.0.0.1:5000/titan/brain@sha256:abc');
    expect(quoteArg('')).toBe("''");
    expect(quoteArg('a b')).toBe("'a b'");
    expect(quoteArg("it's")).toBe("'it'\\''s'");
    expect(quoteArg('a=b')).toBe("'a=b'");
    expect(quoteArg('~')).toBe("'~'");
    expect(quoteArg('$(id)')).toBe("'$(id)'");
  });

  test('refuses a NUL byte, which no command line can carry', () => {
    expect(() => quoteArg('a\0b')).toThrow(SshConfigError);
  });

  test.each(['/bin/sh', '/bin/bash'])('every metacharacter survives %s literally', (shell) => {
    expect(roundTrip(shell, NASTY)).toEqual(NASTY);
  });

  test('any string survives dash and bash literally (property)', () => {
    const arg = fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\0'));
    fc.assert(
      fc.property(fc.array(arg, { minLength: 1, maxLength: 5 }), (args) => {
        expect(roundTrip('/bin/sh', args)).toEqual(args);
        expect(roundTrip('/bin/bash', args)).toEqual(args);
      }),
      { numRuns: 150 },
    );
  });
});

describe('secrets', () => {
  test('are sent as they are but shown redacted', () => {
    const argv = ['login', '-u', 'titan', '-p', secret('hunter2'), secret('tok', 'registry token')];
    expect(commandLine(argv)).toBe('login -u titan -p hunter2 tok');
    expect(displayCommand(argv)).toBe('login -u titan -p *** <registry token>');
    expect(secretValues(argv)).toEqual(['hunter2', 'tok']);
    expect(redact('password hunter2 accepted', secretValues(argv))).toBe('password *** accepted');
    expect(JSON.stringify({ argv })).not.toContain('hunter2');
    expect(`${String(argv[4])}`).toBe('***');
  });
});

describe('renderCommand', () => {
  test('announces the process group, fixes PATH, then execs the quoted command', () => {
    const rendered = renderCommand(['docker', 'compose', '-p', 'titan prod', secret('s3cret')]);
    expect(rendered.line).toBe(`echo titan-ssh-pgid:$$ >&2; PATH=${REMOTE_PATH}; export PATH; exec docker compose -p 'titan prod' s3cret`);
    expect(rendered.display).toBe("docker compose -p 'titan prod' ***");
    expect(rendered.secrets).toEqual(['s3cret']);
  });

  test('a script runs as sh -c SCRIPT NAME ARGS and is shown by its name', () => {
    const rendered = renderCommand({ script: 'echo "$1"', name: 'greet', args: ['a b'] });
    expect(rendered.line).toContain(`exec sh -c 'echo "$1"' greet 'a b'`);
    expect(rendered.display).toBe("sh -c <greet> 'a b'");
    const bash = renderCommand({ script: 'echo', shell: 'bash' });
    expect(bash.line).toContain('exec bash -c echo script');
  });

  test('refuses an empty argv and an oversized script', () => {
    expect(() => renderCommand([])).toThrow(SshConfigError);
    expect(() => renderCommand({ script: 'x'.repeat(200_000) })).toThrow(/Upload it as a file/);
  });

  test('the rendered line runs in a local shell with the fixed PATH', () => {
    const out = execFileSync('/bin/sh', ['-c', renderCommand(['sh', '-c', 'printf "%s" "$PATH"']).line], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { PATH: '/nonexistent:/usr/bin:/bin' },
    });
    expect(out).toBe(REMOTE_PATH);
  });
});

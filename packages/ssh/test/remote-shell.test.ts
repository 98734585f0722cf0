/**
 * Every piece of shell this package sends to a host passes shellcheck as POSIX sh (dash on Debian
 * and Ubuntu): the command wrapper, the process group killer and the upload scripts.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { killGroupLine, renderCommand } from '@titan/ssh/command-line';
import { secret } from '@titan/ssh/shell-quote';
import { UNPACK_TREE_SCRIPT, WRITE_FILE_SCRIPT } from '@titan/ssh/upload';

function shellcheck(script: string): string {
  try {
    execFileSync('shellcheck', ['--shell=sh', '--severity=style', '-'], { input: script, encoding: 'utf8' });
    return '';
  } catch (error: unknown) {
    const out = (error as { stdout?: string }).stdout;
    return out ?? String(error);
  }
}

describe('shell sent to hosts', () => {
  test.each([
    ['the command wrapper', renderCommand(['docker', 'compose', '-p', "it's", secret('x y')]).line],
    ['the script wrapper', renderCommand({ script: 'echo "$1"', args: ['a b'], name: 'probe' }).line],
    ['the process group killer', killGroupLine(12345, 3000)],
    ['the file writer', WRITE_FILE_SCRIPT],
    ['the tree unpacker', UNPACK_TREE_SCRIPT],
  ])('%s passes shellcheck', (_name, script) => {
    expect(shellcheck(`${script}\n`)).toBe('');
  });

  test('the process group killer waits no longer than needed for a group that is already gone', () => {
    const started = performance.now();
    // A group id that cannot exist: kill fails at once and the helper reports the group gone.
    const out = execFileSync('sh', ['-c', `(\n${killGroupLine(2 ** 22 + 12345, 3000)}\n)\necho "status $?"`], { encoding: 'utf8' });
    expect(out.trim()).toBe('status 0');
    expect(performance.now() - started).toBeLessThan(500);
  });
});

import { describe, expect, it } from 'vitest';
import { keyValueEntries, parseKeyValueFile } from '../src/key-value-file.js';

// What @actions/core writes for setOutput('report', '{"a":1}\nline two') and setOutput('id', 'r1').
const WRITTEN = 'report<<ghadelimiter_5f2c\r\n{"a":1}\nline two\nghadelimiter_5f2c\nid=r1\n\nid=r2\n';

describe('GITHUB_OUTPUT / GITHUB_ENV files', () => {
  it('reads blocks and plain lines, in order; the last value of a name set twice counts', () => {
    expect(keyValueEntries(WRITTEN, 'GITHUB_OUTPUT')).toEqual([
      ['report', '{"a":1}\nline two'],
      ['id', 'r1'],
      ['id', 'r2'],
    ]);
    expect(parseKeyValueFile(WRITTEN, 'GITHUB_OUTPUT')).toEqual({ report: '{"a":1}\nline two', id: 'r2' });
    expect(parseKeyValueFile('', 'GITHUB_OUTPUT')).toEqual({});
  });

  it('refuses an unclosed block and a line of neither form, naming the file; lenient reading keeps what it can', () => {
    const cut = 'id=r1\nreport<<EOF_1\npartial\n';
    expect(() => parseKeyValueFile(cut, 'GITHUB_OUTPUT')).toThrow('GITHUB_OUTPUT: report has no closing delimiter EOF_1');
    expect(parseKeyValueFile(cut, 'GITHUB_OUTPUT', { lenient: true })).toEqual({ id: 'r1', report: 'partial\n' });
    expect(() => parseKeyValueFile('id=r1\njunk\n', 'GITHUB_ENV')).toThrow('GITHUB_ENV: invalid line "junk"');
    expect(parseKeyValueFile('id=r1\njunk\n', 'GITHUB_ENV', { lenient: true })).toEqual({ id: 'r1' });
  });
});

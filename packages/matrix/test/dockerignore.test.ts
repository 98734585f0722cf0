import { describe, expect, it } from 'vitest';
import { DockerIgnore } from '@titan/matrix/dockerignore';

describe('.dockerignore', () => {
  it('matches like docker build: anchored at the context root, `**` for any depth, last match wins', () => {
    const ignore = new DockerIgnore(
      [
        '# comment',
        '',
        '*.md',
        '!README.md',
        '**/*.log',
        '/node_modules/',
        './build//out',
        'tmp?',
        'cache[0-9]',
        'secret[!s]',
        '  spaced.txt  ',
        'docs',
        '!docs/keep.txt',
      ].join('\n'),
    );
    const cases: [string, boolean][] = [
      ['CHANGES.md', true],
      ['README.md', false],
      ['src/notes.md', false], // `*.md` does not cross `/`
      ['app.log', true],
      ['a/b/c/app.log', true],
      ['node_modules/x/index.js', true],
      ['build/out/app', true],
      ['build/app', false],
      ['tmp1', true],
      ['tmp12', false],
      ['cache7', true],
      ['cachex', false],
      ['secretx', true],
      ['secrets', false],
      ['spaced.txt', true],
      ['docs/guide.txt', true],
      ['docs/keep.txt', false],
      ['entrypoint.sh', false],
    ];
    for (const [path, ignored] of cases) expect([path, ignore.ignores(path)]).toEqual([path, ignored]);
    expect(ignore.hasExceptions).toBe(true);
  });

  it('escapes with a backslash and treats regex characters literally', () => {
    const ignore = new DockerIgnore('a\\*b\nv1.0+(x)\n');
    expect(ignore.ignores('a*b')).toBe(true);
    expect(ignore.ignores('axb')).toBe(false);
    expect(ignore.ignores('v1.0+(x)')).toBe(true);
    expect(ignore.ignores('v1x0+(x)')).toBe(false);
  });

  it('an empty file ignores nothing', () => {
    const ignore = new DockerIgnore('\n# only a comment\n');
    expect(ignore.empty).toBe(true);
    expect(ignore.ignores('anything')).toBe(false);
  });
});

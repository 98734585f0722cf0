import { describe, expect, it } from 'vitest';
import { canonicalJson } from '@titan/release/canonical-json';
import { parseManifest, serializeManifest, stackProfileOf, validateManifest, type ReleaseManifest } from '@titan/release/manifest';
import type { StackProfile } from '@titan/release/stack-profile';
import { fakeDigest, GIT_SHA } from './release-fixture.js';

const hex = (c: string): string => c.repeat(64);

const STACK: StackProfile = {
  groups: [{ name: 'brain', trading: true, services: ['titan-brain'] }],
  infrastructure: ['postgres'],
  health: [{ service: 'titan-brain', port: 3100, path: '/health', body: 'status-and-service' }],
  policyReporters: ['titan-brain'],
  database: { service: 'postgres', name: 'titan', user: 'titan' },
  halt: { subject: 'titan.cmd.sys.halt', responder: 'titan-brain' },
  critical: [],
};

function manifest(): ReleaseManifest {
  return {
    schemaVersion: 2,
    releaseId: '20261122T101112Z-0123456789ab',
    git: { sha: GIT_SHA, ref: 'refs/heads/main' },
    runUrl: 'https://github.com/titan/titan/actions/runs/1',
    createdAt: '2026-11-22T10:11:12Z',
    keyId: 'ed25519-0011223344556677',
    policy: { path: 'config/policy.json', sha256: hex('b') },
    compose: ['docker-compose.yml', 'docker-compose.digests.yml'],
    images: {
      postgres: { image: '127.0.0.1:5000/titan/postgres', digest: fakeDigest('postgres') },
      'titan-brain': { image: '127.0.0.1:5000/titan/titan-brain', digest: fakeDigest('titan-brain') },
    },
    files: [
      { path: 'config/policy.json', sha256: hex('b'), size: 10 },
      { path: 'docker-compose.digests.yml', sha256: hex('c'), size: 20 },
      { path: 'docker-compose.yml', sha256: hex('d'), size: 30 },
    ],
    stack: STACK,
  };
}

const stackOf = (m: Record<string, unknown>): Record<string, unknown> => m['stack'] as Record<string, unknown>;

/** A copy of the manifest with one change made through a JSON round trip. */
function changed(change: (m: Record<string, unknown>) => void): unknown {
  const copy = JSON.parse(JSON.stringify(manifest())) as Record<string, unknown>;
  change(copy);
  return copy;
}

describe('parseManifest', () => {
  it('round-trips a manifest through its canonical bytes', () => {
    const bytes = serializeManifest(manifest());
    expect(bytes.toString('utf8')).toBe(canonicalJson(manifest()));
    expect(bytes.toString('utf8')).toMatch(/^\{"compose":\[.*\],"createdAt":.*,"files":\[\{"path":"config\/policy\.json","sha256":"b{64}","size":10\},/);
    expect(bytes.toString('utf8')).toMatch(/,"schemaVersion":2,"stack":\{"critical":\[\],"database":\{.*\}\}$/);
    expect(parseManifest(bytes)).toEqual(manifest());
    expect(stackProfileOf(parseManifest(bytes))).toEqual(STACK);
  });

  it('parses a schemaVersion 1 manifest (signed before stack profiles), which has no profile to act on', () => {
    const old = changed((m) => {
      m['schemaVersion'] = 1;
      delete m['stack'];
    });
    const parsed = parseManifest(canonicalJson(old));
    expect(parsed.schemaVersion).toBe(1);
    expect(parsed.stack).toBeUndefined();
    expect(() => stackProfileOf(parsed)).toThrow(
      /^release 20261122T101112Z-0123456789ab was signed before releases carried their stack profile \(manifest schemaVersion 1\): .*Sign that commit again/,
    );
    const withStack = changed((m) => (m['schemaVersion'] = 1));
    expect(() => validateManifest(withStack)).toThrow(/^\$: unexpected member "stack"/);
  });

  it('refuses bytes that are not canonical, even when the JSON means the same', () => {
    const pretty = JSON.stringify(manifest(), null, 2);
    expect(() => parseManifest(pretty)).toThrow(/not in RFC 8785 canonical form/);
    expect(() => parseManifest(`${canonicalJson(manifest())}\n`)).toThrow(/not in RFC 8785 canonical form/);
    expect(() => parseManifest(Buffer.from([0xff, 0xfe]))).toThrow(/not valid UTF-8/);
    expect(() => parseManifest('{')).toThrow(/manifest\.json is not JSON/);
  });

  const refusals: [string, (m: Record<string, unknown>) => void, RegExp][] = [
    ['an extra member', (m) => (m['extra'] = 1), /^\$: unexpected member "extra"/],
    ['a missing member', (m) => delete m['keyId'], /^\$: missing keyId/],
    ['another schema version', (m) => (m['schemaVersion'] = 3), /^schemaVersion: expected 2 \(or 1, before stack profiles\), got 3/],
    ['no stack profile in version 2', (m) => delete m['stack'], /^\$: missing stack$/],
    ['a stack naming a service the release does not run', (m) => (stackOf(m)['groups'] as Record<string, unknown[]>[])[0]!['services']!.push('titan-hunter'), /^stack\.groups\[0\]\.services\[1\]: titan-hunter is not a service of the release/],
    ['a service in no group and not in infrastructure', (m) => (stackOf(m)['infrastructure'] = []), /service postgres is in no group and not in infrastructure.*database\.service: postgres is not in infrastructure/],
    ['a halt responder that does not trade', (m) => ((stackOf(m)['halt'] as Record<string, unknown>)['responder'] = 'postgres'), /^stack\.halt\.responder: postgres is not in a trading group/],
    ['a health port out of range', (m) => ((stackOf(m)['health'] as Record<string, unknown>[])[0]!['port'] = 70000), /^stack\.health\[0\]\.port: must be a port number/],
    ['an extra stack member', (m) => (stackOf(m)['ports'] = {}), /^stack\.ports: is not a member/],
    ['an unsafe release id', (m) => (m['releaseId'] = '../x'), /^releaseId: "\.\.\/x" does not match/],
    ['a short git sha', (m) => ((m['git'] as Record<string, unknown>)['sha'] = 'abc'), /^git\.sha: "abc" does not match/],
    ['an unreal date', (m) => (m['createdAt'] = '2026-13-45T10:11:12Z'), /^createdAt: "2026-13-45T10:11:12Z" is not a real date/],
    ['a malformed image digest', (m) => ((m['images'] as Record<string, Record<string, unknown>>)['titan-brain']!['digest'] = 'sha256:xyz'), /^images\.titan-brain\.digest: "sha256:xyz" does not match/],
    ['an image with a tag', (m) => ((m['images'] as Record<string, Record<string, unknown>>)['titan-brain']!['image'] = 'r/titan-brain:latest'), /^images\.titan-brain\.image/],
    ['a path with ..', (m) => ((m['files'] as Record<string, unknown>[])[0]!['path'] = 'config/../x'), /^files\[0\]\.path: "config\/\.\.\/x": the path has a "\." or "\.\." segment/],
    ['an absolute path', (m) => ((m['files'] as Record<string, unknown>[])[0]!['path'] = '/etc/passwd'), /^files\[0\]\.path: "\/etc\/passwd": the path is absolute/],
    ['a path with a quote', (m) => ((m['files'] as Record<string, unknown>[])[0]!['path'] = 'a"b'), /^files\[0\]\.path: .*character outside/],
    ['a negative size', (m) => ((m['files'] as Record<string, unknown>[])[1]!['size'] = -1), /^files\[1\]\.size: expected a whole number of bytes, got -1/],
    ['a fractional size', (m) => ((m['files'] as Record<string, unknown>[])[1]!['size'] = 1.5), /^files\[1\]\.size/],
    ['files out of order', (m) => (m['files'] as unknown[]).reverse(), /^files\[1\]: "docker-compose\.digests\.yml" is out of order or repeated/],
    ['the manifest listing itself', (m) => (m['files'] as unknown[]).push({ path: 'manifest.json', sha256: hex('e'), size: 1 }), /^files\[3\]: manifest\.json cannot list itself/],
    ['the override not last', (m) => (m['compose'] as unknown[]).reverse(), /^compose: the last compose file must be docker-compose\.digests\.yml/],
    ['a compose file not in files', (m) => (m['compose'] as unknown[]).unshift('other.yml'), /^compose\[0\]: "other\.yml" is not listed in files/],
    ['a policy hash that is not the file hash', (m) => ((m['policy'] as Record<string, unknown>)['sha256'] = hex('f')), /^policy\.sha256 does not match the sha256 listed for config\/policy\.json/],
    ['no image', (m) => (m['images'] = {}), /^images: no image is pinned/],
    ['a control character in the ref', (m) => ((m['git'] as Record<string, unknown>)['ref'] = 'a\nb'), /^git\.ref: holds a control character/],
  ];
  it.each(refusals)('refuses %s, naming the member', (_name, change, message) => {
    const value = changed(change);
    expect(() => validateManifest(value)).toThrow(message);
    // The same refusal from the bytes (written canonically so only the schema can object).
    expect(() => parseManifest(canonicalJson(value))).toThrow(message);
  });
});

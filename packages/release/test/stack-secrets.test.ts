import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { secretHostPath, secretHostPaths, stackSecretsOf } from '@titan/release/stack-secrets';

describe('stack secrets', () => {
  it('lands a file source relative to <app>/current: under shared/ or nowhere', () => {
    expect(secretHostPath('../shared/secrets/binance_api_key')).toBe('shared/secrets/binance_api_key');
    expect(secretHostPath('./../shared/x')).toBe('shared/x');
    expect(secretHostPath('../shared/../trust/key.pem')).toBeUndefined();
    expect(secretHostPath('./config/secret')).toBeUndefined();
    expect(secretHostPath('/opt/titan/shared/secrets/x')).toBeUndefined();
    expect(secretHostPath('${SECRETS}/x')).toBeUndefined();
    expect(secretHostPath('../shared/')).toBeUndefined();
  });

  it('merges the definitions of every file in -f order and lists who mounts each secret', () => {
    const base: unknown = parse('services:\n  a: {image: x}\n  b: {image: y}\nsecrets:\n  k: {file: ./old}\n');
    const overlay: unknown = parse(
      'services:\n  a: {secrets: [k, {source: s, target: other}]}\n  b: {secrets: [k]}\nsecrets:\n  k: {file: ../shared/secrets/k, x-titan-variable: K}\n  s: {file: ../shared/secrets/s}\n  unused: {file: ../shared/secrets/u}\n',
    );
    const secrets = stackSecretsOf([base, overlay]);
    expect(secrets).toEqual([
      { name: 'k', file: '../shared/secrets/k', hostPath: 'shared/secrets/k', variable: 'K', services: ['a', 'b'] },
      { name: 's', file: '../shared/secrets/s', hostPath: 'shared/secrets/s', variable: undefined, services: ['a'] },
      { name: 'unused', file: '../shared/secrets/u', hostPath: 'shared/secrets/u', variable: undefined, services: [] },
    ]);
    // What a deploy checks on the host: the files some service mounts.
    expect(secretHostPaths(secrets)).toEqual(['shared/secrets/k', 'shared/secrets/s']);
  });
});

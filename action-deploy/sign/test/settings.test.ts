import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import { InputReader } from '@titan/action-kit/inputs';
import { readSettings } from '../src/settings.js';

const seed = Buffer.from(nacl.randomBytes(32)).toString('base64');
const SHA = '0123456789abcdef0123456789abcdef01234567';

function settings(inputs: Record<string, string>, env: NodeJS.ProcessEnv = {}): ReturnType<typeof readSettings> {
  return readSettings(new InputReader({ get: (name) => inputs[name] ?? '' }), env);
}

function inputError(inputs: Record<string, string>, env: NodeJS.ProcessEnv = {}): { input: unknown; message: string } {
  try {
    settings(inputs, env);
  } catch (error: unknown) {
    return { input: (error as { input?: unknown }).input, message: (error as Error).message };
  }
  throw new Error('expected a ConfigurationError');
}

describe('sign settings', () => {
  it('takes the commit, ref and run URL from the runner, and the documented defaults', () => {
    const read = settings(
      { 'signing-key': seed, digests: 'digests' },
      { GITHUB_SHA: SHA, GITHUB_REF: 'refs/tags/v1', GITHUB_SERVER_URL: 'https://github.example', GITHUB_REPOSITORY: 'acme/titan', GITHUB_RUN_ID: '9' },
    );
    expect(read.git).toEqual({ sha: SHA, ref: 'refs/tags/v1' });
    expect(read.runUrl).toBe('https://github.example/acme/titan/actions/runs/9');
    expect(read.source).toBe('examples/titan');
    expect(read.output).toBe('release-bundle');
    expect(read.keyId).toMatch(/^ed25519-[0-9a-f]{16}$/);
    expect(read.services).toBeUndefined();
    expect(read.reused).toBeUndefined();
  });

  it('names the input at fault', () => {
    const base = { 'signing-key': seed, digests: 'd', 'git-sha': SHA };
    expect(inputError({ 'signing-key': seed })).toEqual({ input: 'digests', message: expect.stringMatching(/^Input required and not supplied: digests/) as unknown });
    expect(inputError({ 'signing-key': seed, digests: 'd' }).input).toBe('git-sha');
    expect(inputError({ ...base, 'key-id': 'a key' })).toEqual({ input: 'key-id', message: expect.stringMatching(/^Input key-id "a key" must match/) as unknown });
    expect(inputError({ ...base, registry: 'https://registry' }).input).toBe('registry');
    expect(inputError({ ...base, services: 'titan-brain, bad name' })).toEqual({ input: 'services', message: 'Input services: "bad name" is not a service name' });
    expect(inputError({ ...base, reused: 'not json' }).input).toBe('reused');
    expect(inputError({ ...base, 'public-key': 'AAAA' })).toEqual({ input: 'public-key', message: expect.stringMatching(/^Input public-key: the public key decodes to 3 bytes/) as unknown });
  });
});

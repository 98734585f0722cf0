import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '@titan/action-kit/configuration-error';
import { InputReader } from '@titan/action-kit/inputs';
import { readSettings } from '../src/settings.js';

const SHA = 'a'.repeat(40);

function settings(inputs: Record<string, string>, env: Record<string, string> = {}) {
  return readSettings(new InputReader({ get: (name) => inputs[name] ?? '' }), env);
}

describe('gatekeeper settings', () => {
  it('needs values or env-file, and says so naming the input', () => {
    expect(() => settings({})).toThrowError(new ConfigurationError('Input required and not supplied: values (or env-file)', { input: 'values' }));
    expect(settings({ 'env-file': 'prod.env' })).toMatchObject({ envFile: 'prod.env', values: undefined, source: 'examples/titan', warnOnly: false, ci: undefined });
  });

  it('reads required as replace / +add / -remove, and refuses a line that is not a name', () => {
    expect(settings({ 'env-file': 'prod.env', required: '+EXTRA_TOKEN\n-DOMAIN' }).required).toEqual(['+EXTRA_TOKEN', '-DOMAIN']);
    expect(() => settings({ 'env-file': 'prod.env', required: 'HMAC SECRET' })).toThrow(/Input "required": "HMAC SECRET" is not a variable name/);
  });

  it('with a token, checks CI for sha (default GITHUB_SHA) of GITHUB_REPOSITORY, leaving out GITHUB_RUN_ID', () => {
    expect(settings({ 'env-file': 'prod.env', 'github-token': 't' }, { GITHUB_SHA: SHA, GITHUB_REPOSITORY: 'titan/stack', GITHUB_RUN_ID: '42' }).ci).toEqual({
      token: 't',
      owner: 'titan',
      repo: 'stack',
      sha: SHA,
      runId: '42',
    });
    expect(() => settings({ 'env-file': 'prod.env', 'github-token': 't', sha: 'main' }, { GITHUB_REPOSITORY: 'titan/stack' })).toThrow('Input sha must be a full 40-hex commit sha, got "main"');
    expect(() => settings({ 'env-file': 'prod.env', 'github-token': 't' }, { GITHUB_REPOSITORY: 'titan/stack' })).toThrow(/Input required and not supplied: sha/);
    expect(() => settings({ 'env-file': 'prod.env', 'github-token': 't', sha: SHA }, {})).toThrow(/GITHUB_REPOSITORY is not set/);
  });

  it('warn-only is true or false, never a typo read as false', () => {
    expect(settings({ 'env-file': 'prod.env', 'warn-only': 'true' }).warnOnly).toBe(true);
    expect(() => settings({ 'env-file': 'prod.env', 'warn-only': 'yes' })).toThrow('Input warn-only must be true or false, got "yes"');
  });

  it('compose-files is a list, or undefined to use services.yml', () => {
    expect(settings({ 'env-file': 'prod.env' }).composeFiles).toBeUndefined();
    expect(settings({ 'env-file': 'prod.env', 'compose-files': 'docker-compose.yml\n# staging overlay\ndocker-compose.staging.yml\n' }).composeFiles).toEqual(['docker-compose.yml', 'docker-compose.staging.yml']);
  });
});

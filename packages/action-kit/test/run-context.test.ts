import { describe, expect, it } from 'vitest';
import { runContext, runUrl } from '@titan/action-kit/run-context';

describe('runContext', () => {
  it('builds the run URL, with the attempt only for re-runs', () => {
    const env = { GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'titan/titan', GITHUB_RUN_ID: '42', GITHUB_ACTOR: 'octo' };
    expect(runContext(env)).toEqual({ actor: 'octo', runUrl: 'https://github.com/titan/titan/actions/runs/42' });
    expect(runUrl({ ...env, GITHUB_RUN_ATTEMPT: '1' })).toBe('https://github.com/titan/titan/actions/runs/42');
    expect(runUrl({ ...env, GITHUB_RUN_ATTEMPT: '3' })).toBe('https://github.com/titan/titan/actions/runs/42/attempts/3');
  });

  it('is empty and unknown outside a runner', () => {
    expect(runContext({})).toEqual({ actor: 'unknown', runUrl: '' });
    expect(runUrl({ GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: '', GITHUB_RUN_ID: '1' })).toBe('');
  });
});

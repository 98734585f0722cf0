/**
 * action-rollback's inputs, through its committed bundle as a runner runs it: a nats-url with a
 * user, password or token in it is refused before anything is sent, and the credentials appear in
 * no log line, error or summary (only in the runner's masking commands).
 */
import { describe, expect, it } from 'vitest';
import { runActionBundle } from '@titan/test-host/action-run';

const INPUTS = {
  host: '127.0.0.1',
  port: '2222',
  'ssh-key': 'not-a-key-the-run-stops-before-connecting',
  'known-hosts': 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s',
  reason: 'exchange outage',
  'nats-password': 'the-nats-password-input',
  'hmac-secret': 'the-hmac-secret-input',
};

describe('action-rollback nats-url', () => {
  it.each([
    ['a user and password', 'nats://console:Pw-9f3kq2-secret@127.0.0.1:4222', 'Pw-9f3kq2-secret'],
    ['a password under another scheme', 'tls://console:Pw-9f3kq2-secret@127.0.0.1:4222', 'Pw-9f3kq2-secret'],
    ['a token in the query', 'nats://127.0.0.1:4222?token=Tk-77ab1-secret', 'Tk-77ab1-secret'],
  ])('with %s is refused, and never echoed', async (_what, url, secret) => {
    const run = await runActionBundle('action-rollback', { inputs: { ...INPUTS, 'nats-url': url } });
    expect(run.status).toBe(1);
    expect(run.log).toContain('::error::Configuration error: Input nats-url: it holds a user, password or token');
    const shown = run.log
      .split('\n')
      .filter((line) => !line.startsWith('::add-mask::'))
      .join('\n');
    expect(shown).not.toContain(secret);
    expect(shown).not.toContain(url);
    expect(run.summary).not.toContain(secret);
    expect(run.outputText).not.toContain(secret);
    expect(run.log).toContain(`::add-mask::${secret}`);
  });
});

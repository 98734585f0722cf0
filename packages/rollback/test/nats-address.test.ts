import { describe, expect, it } from 'vitest';
import { formatNatsAddress, parseNatsAddress } from '@titan/rollback/nats-address';

describe('the NATS address as the host sees it', () => {
  it('takes HOST[:PORT] with or without nats://', () => {
    expect(parseNatsAddress('127.0.0.1:4222')).toEqual({ host: '127.0.0.1', port: 4222 });
    expect(parseNatsAddress('nats://127.0.0.1:34222')).toEqual({ host: '127.0.0.1', port: 34222 });
    expect(parseNatsAddress('localhost')).toEqual({ host: 'localhost', port: 4222 });
    expect(parseNatsAddress('nats://nats.internal/')).toEqual({ host: 'nats.internal', port: 4222 });
    expect(parseNatsAddress('[::1]:4222')).toEqual({ host: '::1', port: 4222 });
    expect(formatNatsAddress({ host: '::1', port: 4222 })).toBe('[::1]:4222');
  });

  it('says what is wrong otherwise, never repeating what it was given', () => {
    expect(parseNatsAddress('tls://127.0.0.1:4222')).toBe('only nats:// is supported (no TLS, no other scheme), got tls://');
    for (const url of ['nats://console:pw-s3cret@127.0.0.1:4222', 'console:pw-s3cret@127.0.0.1', 'tls://console:pw-s3cret@h', 'nats://h:4222?token=pw-s3cret', 'h#pw-s3cret']) {
      const problem = parseNatsAddress(url);
      expect(problem).toMatch(/holds a user, password or token .*nats-user and nats-password$/);
      expect(problem).not.toContain('s3cret');
    }
    expect(parseNatsAddress('127.0.0.1:99999')).toMatch(/not a TCP port/);
    expect(parseNatsAddress('a b:1')).toMatch(/HOST\[:PORT\]/);
    expect(parseNatsAddress('$(reboot):4222')).toMatch(/HOST\[:PORT\]/);
    expect(parseNatsAddress('$(reboot):4222')).not.toContain('reboot');
  });
});

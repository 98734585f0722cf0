import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HaltEnvelopeError, commandBytes, createHardHalt, openHardHalt, sealHardHalt } from '@titan/rollback/halt-command';

const SECRET = 'a3f1c2d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718';

describe('the HARD_HALT envelope', () => {
  const command = createHardHalt({
    reason: 'exchange outage: "halt" everything — now',
    actor: 'octocat',
    runUrl: 'https://github.com/titan/titan/actions/runs/42',
    issuedAt: new Date('2026-11-23T10:11:12.345Z'),
    nonce: '0123456789abcdef0123456789abcdef',
  });

  it('is canonical JSON: the command, then the hex HMAC-SHA256 of exactly its bytes', () => {
    const sealed = sealHardHalt(command, SECRET);
    const text = sealed.payload.toString('utf8');
    const signed =
      '{"actor":"octocat","issuedAt":"2026-11-23T10:11:12.345Z","nonce":"0123456789abcdef0123456789abcdef",' +
      '"reason":"exchange outage: \\"halt\\" everything — now","runUrl":"https://github.com/titan/titan/actions/runs/42","type":"HARD_HALT"}';
    expect(commandBytes(command).toString('utf8')).toBe(signed);
    const hmac = createHmac('sha256', SECRET).update(Buffer.from(signed, 'utf8')).digest('hex');
    expect(text).toBe(`{"command":${signed},"signature":"${hmac}"}`);
    expect(sealed.signature).toBe(hmac);
    expect(text).not.toContain('\n');
  });

  it('opens with the right secret and refuses a wrong one or an altered command', () => {
    const { payload } = sealHardHalt(command, SECRET);
    expect(openHardHalt(payload, SECRET)).toEqual(command);
    expect(() => openHardHalt(payload, `${SECRET}x`)).toThrow(/does not match/);
    const altered = payload.toString('utf8').replace('octocat', 'mallory');
    expect(() => openHardHalt(altered, SECRET)).toThrow(HaltEnvelopeError);
    expect(() => openHardHalt('{"command":{},"signature":"00"}', SECRET)).toThrow(/64 hex/);
    expect(() => openHardHalt('hello', SECRET)).toThrow(/not a HARD_HALT envelope/);
  });

  it('has a fresh 32-hex nonce each time and refuses an empty secret', () => {
    const a = createHardHalt({ reason: 'r', actor: 'a', runUrl: '' });
    const b = createHardHalt({ reason: 'r', actor: 'a', runUrl: '' });
    expect(a.nonce).toMatch(/^[0-9a-f]{32}$/);
    expect(a.nonce).not.toBe(b.nonce);
    expect(() => sealHardHalt(a, '')).toThrow(/empty/);
    expect(() => createHardHalt({ reason: 'r', actor: 'a', runUrl: '', nonce: 'XYZ' })).toThrow(/32 lower-case hex/);
  });
});

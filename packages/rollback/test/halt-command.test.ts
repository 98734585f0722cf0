import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openAcknowledgement, sealAcknowledgement } from '@titan/rollback/halt-acknowledgement';
import { HaltEnvelopeError, commandBytes, createHardHalt, hmacHex, openHardHalt, sealHardHalt } from '@titan/rollback/halt-command';

const SECRET = 'a3f1c2d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718';
/** examples/titan/stack.yml's halt.responder. */
const RESPONDER = 'titan-brain';

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

  const at = (offsetMs: number) => ({ seen: new Set<string>(), now: new Date(Date.parse(command.issuedAt) + offsetMs) });

  it('opens with the right secret and refuses a wrong one or an altered command', () => {
    const { payload } = sealHardHalt(command, SECRET);
    expect(openHardHalt(payload, SECRET, at(1000))).toEqual(command);
    expect(() => openHardHalt(payload, `${SECRET}x`, at(1000))).toThrow(/does not match/);
    const altered = payload.toString('utf8').replace('octocat', 'mallory');
    expect(() => openHardHalt(altered, SECRET, at(1000))).toThrow(HaltEnvelopeError);
    expect(() => openHardHalt('{"command":{},"signature":"00"}', SECRET, at(1000))).toThrow(/64 hex/);
    expect(() => openHardHalt('hello', SECRET, at(1000))).toThrow(/not a signed envelope/);
  });

  it('as a receiver must: refuses a stale command, one from the future, and an exact replay', () => {
    const { payload } = sealHardHalt(command, SECRET);
    expect(() => openHardHalt(payload, SECRET, at(121_000))).toThrow(/issued 121 s ago, more than the 120 s a HARD_HALT stays valid/);
    expect(() => openHardHalt(payload, SECRET, at(-31_000))).toThrow(/31 s in the future/);
    const receiver = at(5000);
    expect(openHardHalt(payload, SECRET, receiver).nonce).toBe(command.nonce);
    expect(receiver.seen.has(command.nonce)).toBe(true);
    expect(() => openHardHalt(payload, SECRET, receiver)).toThrow(`nonce ${command.nonce} was accepted before: this is a replay`);
    expect(() => openHardHalt(payload, SECRET, { ...receiver, maxAgeMs: 1000 })).toThrow(/stale, or replayed/);
  });

  it("acknowledgements: signed and bound to the nonce; only titan-brain's counts", () => {
    const reply = sealAcknowledgement(command.nonce, RESPONDER, SECRET);
    const body = `{"ack":true,"nonce":"${command.nonce}","service":"titan-brain","type":"HARD_HALT_ACK"}`;
    expect(reply.toString('utf8')).toBe(`{"acknowledgement":${body},"signature":"${hmacHex(SECRET, Buffer.from(body))}"}`);
    expect(openAcknowledgement(reply, command.nonce, SECRET, RESPONDER)).toEqual({ ack: true, nonce: command.nonce, service: 'titan-brain' });
    expect(openAcknowledgement(reply, command.nonce, `${SECRET}x`, RESPONDER)).toMatch(/HMAC signature does not check/);
    expect(openAcknowledgement(reply, 'f'.repeat(32), SECRET, RESPONDER)).toMatch(/acknowledges another command/);
    expect(openAcknowledgement(sealAcknowledgement(command.nonce, 'titan-hunter', SECRET), command.nonce, SECRET, RESPONDER)).toBe(
      "the acknowledgement comes from titan-hunter, not titan-brain: only titan-brain's counts",
    );
    const unsigned = Buffer.from(JSON.stringify({ ack: true, nonce: command.nonce, service: 'titan-brain' }));
    expect(openAcknowledgement(unsigned, command.nonce, SECRET, RESPONDER)).toMatch(/from titan-brain is not a signed acknowledgement/);
    const tampered = Buffer.from(reply.toString('utf8').replace('"ack":true', '"ack":false'));
    expect(openAcknowledgement(tampered, command.nonce, SECRET, RESPONDER)).toMatch(/HMAC signature does not check/);
    expect(openAcknowledgement(Buffer.from('{"ack":false,"error":"a replay","service":"titan-brain"}'), command.nonce, SECRET, RESPONDER)).toBe('the reply from titan-brain refuses the command: a replay');
    // A command signed with the secret is never an acknowledgement.
    expect(openAcknowledgement(sealHardHalt(command, SECRET).payload, command.nonce, SECRET, RESPONDER)).toMatch(/not a signed acknowledgement/);
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

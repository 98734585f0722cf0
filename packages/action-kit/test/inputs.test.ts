import { describe, expect, it } from 'vitest';
import { InputReader } from '@titan/action-kit/inputs';
import { ConfigurationError } from '@titan/action-kit/configuration-error';

function reader(values: Record<string, string>): InputReader {
  return new InputReader({ get: (name) => values[name] ?? '' });
}

describe('InputReader', () => {
  it('names the missing required input', () => {
    expect(() => reader({}).required('host')).toThrowError(
      new ConfigurationError('Input required and not supplied: host', { input: 'host' }),
    );
  });

  it('treats a typo in a boolean as an error, never as false', () => {
    expect(() => reader({ 'warn-only': 'ture' }).boolean('warn-only', false)).toThrow(/warn-only must be true or false/);
    expect(reader({ 'warn-only': 'true' }).boolean('warn-only', false)).toBe(true);
    expect(reader({}).boolean('warn-only', false)).toBe(false);
  });

  it('checks whole numbers and their range', () => {
    expect(reader({ port: '22' }).integer('port', 22, { min: 1, max: 65535 })).toBe(22);
    expect(() => reader({ port: '22x' }).integer('port', 22)).toThrow(/port must be a whole number, got "22x"/);
    expect(() => reader({ port: '0' }).integer('port', 22, { min: 1 })).toThrow(/port must be at least 1/);
  });

  it('accepts only the listed choices', () => {
    expect(reader({ mode: 'ARMED' }).choice('mode', ['DISARMED', 'ARMED'], 'DISARMED')).toBe('ARMED');
    expect(() => reader({ mode: 'armed' }).choice('mode', ['DISARMED', 'ARMED'], 'DISARMED')).toThrow(
      /mode must be one of DISARMED, ARMED; got "armed"/,
    );
  });

  it('reads multi-line inputs without blanks or comments', () => {
    expect(reader({ 'known-hosts': '# pinned\nSHA256:abc\n\n  SHA256:def  \n' }).lines('known-hosts')).toEqual([
      'SHA256:abc',
      'SHA256:def',
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { formatBytes, formatRate } from '@titan/backup/stream-digest';

describe('sizes and rates as the log shows them', () => {
  it('whole bytes below a KiB, two decimals below 10 of a unit, one above', () => {
    expect(formatBytes(89)).toBe('89 B');
    expect(formatRate(89, 524)).toBe('170 B/s');
    expect(formatBytes(21.4 * 1024)).toBe('21.4 KiB');
    expect(formatBytes(3 * 1024 * 1024 + 512 * 1024)).toBe('3.50 MiB');
    expect(formatRate(300 * 1024 * 1024, 0)).toBe('0 B/s');
  });
});

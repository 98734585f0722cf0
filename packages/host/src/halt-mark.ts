/**
 * The halt mark: `state/halted`, one JSON line saying that an operator stopped trading on this host
 * (a HARD_HALT, or a rollback in mode stop): who, when, why, and the HARD_HALT's nonce. While it is
 * there, nothing automatic starts a trading service or arms the stack: a waiting guard, a recovery,
 * a deploy in flight and the return plans (scripts/revert.sh) honour it. It is lifted only by an
 * explicit action that says so: a rollback in mode restart or rollback as it starts the stack, or a
 * deploy with lift-halt: true. Lifting names the mark it lifts (its nonce): a newer halt wins.
 */
import type { SshConnection } from '@titan/ssh/connection';
import { EXIT_HALT_STANDS } from '@titan/ssh/exit-status';
import type { HostLayout } from './host-layout.js';
import { lastRecord } from './host-record.js';
import { runHostScript } from './host-script.js';

export interface HaltMark {
  /** Host-independent time of the halt (the runner's clock, ISO 8601). */
  readonly at: string;
  readonly actor: string;
  readonly runUrl: string;
  readonly reason: string;
  /** halt, stop, restart or rollback: the rollback mode that sent the HARD_HALT. */
  readonly rollbackMode: string;
  /** The HARD_HALT's nonce: names this halt. */
  readonly nonce: string;
}

const NONCE_PATTERN = /^[0-9a-f]{16,64}$/;

export class HostHaltedError extends Error {
  override readonly name = 'HostHaltedError';

  readonly mark: HaltMark;
  constructor(message: string, mark: HaltMark) {
    super(message);
    this.mark = mark;
  }
}

/** How a person reads a mark: "by alice at 2026-…: reason (rollback mode stop)". */
export function describeHalt(mark: HaltMark): string {
  return `by ${mark.actor} at ${mark.at} (rollback mode ${mark.rollbackMode}${mark.runUrl !== '' ? `, ${mark.runUrl}` : ''}): ${mark.reason}`;
}

export function parseHaltMark(text: string): HaltMark | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    const record = value as Record<string, unknown>;
    const str = (key: string): string => (typeof record[key] === 'string' ? record[key] : '');
    return { at: str('at'), actor: str('actor'), runUrl: str('runUrl'), reason: str('reason'), rollbackMode: str('rollbackMode'), nonce: str('nonce') };
  } catch {
    // A mark that cannot be read is still a halt.
    return { at: 'unknown', actor: 'unknown', runUrl: '', reason: 'the halt mark cannot be read', rollbackMode: 'unknown', nonce: '' };
  }
}

/** Writes the halt mark (no lock needed: one atomic rename; an operator's halt never waits). */
export async function writeHaltMark(connection: SshConnection, layout: HostLayout, mark: HaltMark): Promise<void> {
  if (!NONCE_PATTERN.test(mark.nonce)) throw new Error(`The halt's nonce ${JSON.stringify(mark.nonce)} is not hex.`);
  const line = JSON.stringify(mark);
  await runHostScript(connection, layout, 'titan-write-halt-mark', [line], { timeoutMs: 30_000 });
}

/** The halt mark now, or undefined. */
export async function readHaltMark(connection: SshConnection, layout: HostLayout): Promise<HaltMark | undefined> {
  const { stdout } = await runHostScript(connection, layout, 'titan-read-halt-mark', [], { timeoutMs: 30_000, logOutput: 'none' });
  const mark = lastRecord(stdout, 'halted');
  return mark === undefined ? undefined : parseHaltMark(mark[0] ?? '');
}

/**
 * Lifts the mark with `nonce` (an explicit restart, rollback or lift-halt deploy). Returns the newer
 * mark that is there instead, if any: that halt stands.
 */
export async function liftHaltMark(connection: SshConnection, layout: HostLayout, nonce: string): Promise<HaltMark | undefined> {
  if (nonce !== '' && !NONCE_PATTERN.test(nonce)) throw new Error(`The halt's nonce ${JSON.stringify(nonce)} is not hex.`);
  const { stdout, exitCode } = await runHostScript(connection, layout, 'titan-lift-halt-mark', [nonce], {
    timeoutMs: 30_000,
    acceptExitCodes: [EXIT_HALT_STANDS],
  });
  return exitCode === EXIT_HALT_STANDS ? parseHaltMark(lastRecord(stdout, 'halt-stands')?.[0] ?? '') : undefined;
}

/**
 * A run over one host session (a deploy, a rollback): the host's deploy lock it takes, its phase
 * clock, its safe points, the end of the host's work in flight when it is cancelled, and its one
 * journal line, written once at its end, before the lock is released (`end`). DeployRun
 * (@titan/deploy/deploy-run) and RollbackRun (@titan/rollback/rollback-run) extend it with what
 * their own phases share and say what their journal line holds.
 */
import type { HeldDeployLock } from '@titan/host/deploy-lock';
import type { HostLayout } from '@titan/host/host-layout';
import { appendRunJournal, type JournalEntry } from '@titan/host/journal';
import type { Logger } from '@titan/log/logger';
import type { SshConnection } from '@titan/ssh/connection';
import { cancellationCause, throwIfCancelled } from './cancellation.js';
import { PhaseClock } from './phase-clock.js';

/** What every run over a host session is asked with. */
export interface HostSessionRequest {
  readonly layout: HostLayout;
  readonly project: string;
  readonly logger: Logger;
  readonly signal?: AbortSignal | undefined;
  /** Who started the run and where it ran (a workflow run's URL): on its journal line. */
  readonly actor: string;
  readonly runUrl: string;
}

/** The fields every run's journal line has beside its own: when it ended, who ran it and where, its phases' durations. */
export interface RunJournalCommon {
  readonly time: string;
  readonly actor: string;
  readonly runUrl: string;
  /** Phase name -> milliseconds. */
  readonly phases: Readonly<Record<string, number>>;
}

export abstract class HostSessionRun<Request extends HostSessionRequest> {
  readonly layout: HostLayout;
  readonly project: string;
  readonly logger: Logger;
  readonly signal: AbortSignal | undefined;
  readonly startedAt = new Date();
  readonly clock: PhaseClock;

  lock: HeldDeployLock | undefined;
  failure: Error | undefined;
  /** What the host is left in, when the run did not end as asked. */
  hostStatus: string | undefined;
  journalWritten = false;
  /** Set once the run handles its end: a cancellation arriving then no longer aborts host work. */
  ending = false;

  readonly connection: SshConnection;
  readonly request: Request;
  constructor(
    connection: SshConnection,
    request: Request,
  ) {
    this.connection = connection;
    this.request = request;
    this.layout = request.layout;
    this.project = request.project;
    this.logger = request.logger;
    this.signal = request.signal;
    this.clock = new PhaseClock(this.logger);
  }

  /** The journal line of this run as it ended (`common` and its own fields), or undefined when it leaves none. */
  protected abstract journalEntry(common: RunJournalCommon): JournalEntry | undefined;

  /** The phase a safe point names as the one the run was cancelled in: the one running. */
  protected get cancelledIn(): string | undefined {
    return this.clock.latest;
  }

  /** What a run notes as a cancellation arrives (before it logs it and ends the host's work). */
  protected noteCancellation(): void {}

  /** The lock this run holds (from the lock phase on). */
  get heldLock(): HeldDeployLock {
    if (this.lock === undefined) throw new Error('The deploy lock is not held yet.');
    return this.lock;
  }

  /** The abort listener: says where the cancellation arrived and ends the host's work in flight. */
  readonly cancel = (): void => {
    this.noteCancellation();
    this.logger.warning(`Cancellation (${cancellationCause(this.signal)}) received during ${this.clock.latest ?? 'the start'}: stopping at the next safe point.`);
    if (!this.ending) void this.lock?.abortWork();
  };

  /** A safe point: cancelled runs stop here. */
  checkpoint(): void {
    throwIfCancelled(this.signal, this.cancelledIn);
  }

  /** True when the host ended this run's lock (or its connection): nothing more may be changed. */
  async lockLost(): Promise<boolean> {
    const lock = this.lock;
    if (lock === undefined) return false;
    // The lock channel's end may still be on its way when a command of the same session failed first.
    for (let i = 0; i < 5 && lock.held && !this.connection.closed; i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    return !lock.held || this.connection.closed;
  }

  /** The run's journal line, once: never after the host ended this run's lock or its connection. */
  async writeJournal(): Promise<void> {
    if (this.journalWritten) return;
    this.journalWritten = true;
    if (this.connection.closed || (this.lock !== undefined && !this.lock.held)) return;
    const { actor, runUrl } = this.request;
    const entry = this.journalEntry({ time: new Date().toISOString(), actor, runUrl, phases: this.clock.durations() });
    if (entry !== undefined) await appendRunJournal(this.connection, this.layout, entry, this.logger);
  }

  /** The end of every run: its journal line (unless written already), then the lock released. */
  async end(): Promise<void> {
    await this.writeJournal();
    await this.lock?.release();
  }
}

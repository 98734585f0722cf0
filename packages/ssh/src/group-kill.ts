/**
 * Killing the remote process group of one running command (remote-command.ts) on timeout, abort or
 * a local I/O error: a second exec channel runs killGroupLine (SIGTERM, the grace period, SIGKILL)
 * for the process group the shell announced. A kill asked for before the channel opened runs once
 * it is open; one asked for before the process group is known waits for it a little, then closes
 * the channel instead. Whatever the helper achieved, the channel is not waited for forever.
 *
 * How the process group is found: sshd starts each session's command in a new session (it calls
 * setsid() before exec'ing the user's shell), so the login shell's pid is also its process group
 * id, and `exec` keeps that pid for the command. The command line therefore starts with
 * `echo titan-ssh-pgid:$$ >&2`; the first stderr line carrying that marker is taken out of the
 * output and remembered (command-output.ts). This works with any OpenSSH version (channel "signal"
 * requests are ignored before OpenSSH 7.9, and ssh2 only sends them while the channel's stdin is
 * still open).
 */
import type { ClientChannel } from 'ssh2';
import { killGroupLine } from './command-line.js';
import type { CommandSession } from './command-session.js';
import { CommandAbortedError, CommandTimeoutError, SshError, describeError } from './errors.js';

export type KillReason = { kind: 'timeout' } | { kind: 'abort'; reason: unknown } | { kind: 'io'; error: unknown };

export interface GroupKillHooks {
  /** The command has settled: a kill asked for now does nothing. */
  settled(): boolean;
  /** The command's channel has closed. */
  channelClosed(): boolean;
  /** Called once as a kill starts (the command's timer stops). */
  onKill(): void;
}

export class GroupKill {
  /** Why the command is killed (the first reason wins); undefined while it is not. */
  reason: KillReason | undefined;
  /** Settles to true once the process group is gone (false: it could not be killed, the channel was closed). */
  done: Promise<boolean> | undefined;
  readonly #session: CommandSession;
  readonly #display: string;
  readonly #graceMs: number;
  readonly #hooks: GroupKillHooks;
  #channel: ClientChannel | undefined;
  #pgid: number | undefined;
  #beforeChannel: KillReason | undefined;
  #awaitingPgid = false;

  constructor(session: CommandSession, display: string, graceMs: number, hooks: GroupKillHooks) {
    this.#session = session;
    this.#display = display;
    this.#graceMs = graceMs;
    this.#hooks = hooks;
  }

  /** The shell announced its process group. */
  get pgidKnown(): boolean {
    return this.#pgid !== undefined;
  }

  /** The process group the shell announced; a kill waiting for it starts now. */
  announce(pgid: number): void {
    this.#pgid = pgid;
    if (this.#awaitingPgid && this.done === undefined && this.#channel) this.#killGroup(this.#channel, pgid);
  }

  /** The command's channel is open. */
  attach(channel: ClientChannel): void {
    this.#channel = channel;
  }

  /** Runs a kill asked for before the channel opened; false when there was none. */
  killPending(): boolean {
    if (this.#beforeChannel === undefined) return false;
    this.kill(this.#beforeChannel);
    return true;
  }

  kill(reason: KillReason): void {
    if (this.reason || this.#hooks.settled()) return;
    const ch = this.#channel;
    if (!ch) {
      this.#beforeChannel ??= reason;
      return;
    }
    this.reason = reason;
    this.#hooks.onKill();
    if (this.#pgid !== undefined) {
      this.#killGroup(ch, this.#pgid);
      return;
    }
    // The shell has not announced its process group yet (it is the first thing it does): wait for
    // it a little, then fall back to closing the channel.
    this.#awaitingPgid = true;
    setTimeout(() => {
      if (this.done === undefined) {
        this.done = Promise.resolve(false);
        ch.close();
      }
    }, 2000).unref();
  }

  #killGroup(ch: ClientChannel, group: number): void {
    this.#session.logger.debug(`killing remote process group ${group} of ${this.#display}`);
    this.done = this.#session.runHelper(killGroupLine(group, this.#graceMs)).then(
      (code) => code === 0,
      () => false,
    );
    // Whatever the helper achieved, do not wait for the channel forever.
    void this.done.then(() => {
      setTimeout(() => {
        if (!this.#hooks.channelClosed()) ch.close();
      }, 2000).unref();
    });
  }

  /** What the killed command rejects with, once the kill is done (the group gone, or not). */
  async error(end: { timeoutMs: number; stderrTail: string; exited: number | string | undefined }): Promise<Error> {
    const reason = this.reason;
    const killed = this.done ? await this.done : false;
    if (reason === undefined || reason.kind === 'timeout') {
      return new CommandTimeoutError({ command: this.#display, timeoutMs: end.timeoutMs, stderrTail: end.stderrTail, killed, exited: end.exited });
    }
    if (reason.kind === 'abort') return new CommandAbortedError({ command: this.#display, stderrTail: end.stderrTail, reason: reason.reason });
    const cause = reason.error;
    return cause instanceof Error ? cause : new SshError(`${this.#display}: ${describeError(cause)}`);
  }
}

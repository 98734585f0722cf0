/**
 * One step's process, run as a runner runs it: its output read line by line for workflow commands
 * (`::add-mask::`, `::error::`, `::warning::`, `::group::`), every registered secret masked as
 * `***` before a line reaches the log, and cancellation as GitHub does it: SIGINT, SIGTERM 7.5 s
 * later, then SIGKILL of the process group 2.5 s after that.
 */
import { spawn } from 'node:child_process';
import type { Masks } from './masks.js';

export interface Annotation {
  readonly level: 'error' | 'warning' | 'notice';
  readonly message: string;
}

export interface StepProcessOptions {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Record<string, string>;
  readonly masks: Masks;
  /** Each log line as the runner shows it (masked, commands consumed). */
  readonly onLine: (line: string) => void;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

export interface StepProcessResult {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly annotations: Annotation[];
  readonly cancelled: boolean;
  readonly timedOut: boolean;
}

export async function runStepProcess(options: StepProcessOptions): Promise<StepProcessResult> {
  const annotations: Annotation[] = [];
  const child = spawn(options.command, [...options.args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const handle = (line: string): void => {
    const command = /^::([a-z-]+)(?: [^:]*)?::(.*)$/.exec(line);
    if (command?.[1] !== undefined) {
      const value = unescape(command[2] ?? '');
      switch (command[1]) {
        case 'add-mask':
          options.masks.add(value);
          return;
        case 'debug':
          return;
        case 'group':
          options.onLine(`▸ ${options.masks.apply(value)}`);
          return;
        case 'endgroup':
          return;
        case 'error':
        case 'warning':
        case 'notice': {
          const message = options.masks.apply(value);
          annotations.push({ level: command[1], message });
          options.onLine(`${command[1]}: ${message}`);
          return;
        }
        default:
          break;
      }
    }
    options.onLine(options.masks.apply(line));
  };
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) handle(line.replace(/\r$/, ''));
    });
    stream.on('end', () => {
      if (pending !== '') handle(pending);
      pending = '';
    });
  }
  let cancelled = false;
  let timedOut = false;
  const timers: NodeJS.Timeout[] = [];
  const stop = (): void => {
    if (child.pid === undefined || child.exitCode !== null) return;
    const pid = child.pid;
    const send = (sig: NodeJS.Signals, group: boolean): void => {
      try {
        process.kill(group ? -pid : pid, sig);
      } catch {
        // already gone
      }
    };
    send('SIGINT', false);
    timers.push(setTimeout(() => send('SIGTERM', false), 7_500));
    timers.push(setTimeout(() => send('SIGKILL', true), 10_000));
  };
  const onAbort = (): void => {
    cancelled = true;
    stop();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted === true) onAbort();
  if (options.timeoutMs !== undefined) {
    timers.push(
      setTimeout(() => {
        timedOut = true;
        stop();
      }, options.timeoutMs),
    );
  }
  const [status, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, sig) => resolve([code, sig]));
  }).finally(() => {
    for (const t of timers) clearTimeout(t);
    options.signal?.removeEventListener('abort', onAbort);
  });
  return { status, signal, annotations, cancelled, timedOut };
}

/** Workflow command data escapes (%25, %0D, %0A). */
function unescape(value: string): string {
  return value.replace(/%0D/gi, '\r').replace(/%0A/gi, '\n').replace(/%25/g, '%');
}

/**
 * Running a host script (packages/host/scripts/*.sh, carried as text by the generated
 * host-scripts.ts) on the host: `env TITAN_...=... sh -c <script> <name> ARGS...`. Every value
 * reaches the script as a positional argument, on its standard input or in its environment: the
 * host layout (HostLayout.environment(): where releases, state, the journal, the lock are) and the
 * exit statuses it may use (@titan/ssh/exit-status), never by editing its text. Nothing secret is
 * ever among them (a command line is visible in the process list). The script's text shows in logs
 * as `<name>`.
 */
import type { SshConnection } from '@titan/ssh/connection';
import { EXIT_HALT_STANDS, EXIT_LOCK_BUSY, EXIT_NO_DATABASE, EXIT_NOT_VERIFIED } from '@titan/ssh/exit-status';
import type { RunOptions, RunResult } from '@titan/ssh/command-session';
import { type Arg, secret } from '@titan/ssh/shell-quote';
import type { HostLayout } from './host-layout.js';
import { HOST_SCRIPTS, type HostScriptName } from './host-scripts.js';

/** The exit statuses a host script names (`exit "$EXIT_NOT_VERIFIED"`), by the names of their one home. */
export const SCRIPT_EXIT_STATUSES: Readonly<Record<string, number>> = { EXIT_NOT_VERIFIED, EXIT_NO_DATABASE, EXIT_HALT_STANDS, EXIT_LOCK_BUSY };

/** The text of a host script as it is sent (its libraries inlined). */
export function hostScript(name: HostScriptName): string {
  return HOST_SCRIPTS[name];
}

/**
 * The environment a host script runs with on the host of `layout` (null for the scripts that touch
 * nothing of the application folder: images, migrations, compose).
 */
export function hostScriptEnvironment(layout: HostLayout | null): Record<string, string> {
  return { ...layout?.environment(), ...Object.fromEntries(Object.entries(SCRIPT_EXIT_STATUSES).map(([k, v]) => [k, String(v)])) };
}

/** The argv that runs host script `name` with `args`. */
export function hostScriptCommand(layout: HostLayout | null, name: HostScriptName, args: readonly Arg[]): Arg[] {
  const environment = Object.entries(hostScriptEnvironment(layout)).map(([key, value]) => `${key}=${value}`);
  return ['env', ...environment, 'sh', '-c', secret(hostScript(name), name), name, ...args];
}

export function runHostScript(connection: SshConnection, layout: HostLayout | null, name: HostScriptName, args: readonly Arg[], options: RunOptions = {}): Promise<RunResult> {
  return connection.run(hostScriptCommand(layout, name, args), options);
}

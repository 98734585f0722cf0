import { run as backup } from '@titan/action-backup/main';
import { run as restore } from '@titan/action-backup-restore/main';
import { run as deploy } from '@titan/action-deploy/main';
import { run as provision } from '@titan/action-provision/main';
import { run as rollback } from '@titan/action-rollback/main';
import { run as verify } from '@titan/action-verify/main';
import type { Logger } from '@titan/log/logger';

/**
 * One CLI command: an action run in a terminal. Its inputs are the action's (its action.yml), its
 * settings the action's own reader, its run the action's own run() over the same libraries, with
 * the same checks (pinned host keys, signatures) and the same summary.
 */
export interface Command {
  readonly name: string;
  /** The action's folder in the repository (where its action.yml is). */
  readonly actionDir: string;
  /** The name in the summary written when the run ends before the action wrote its own. */
  readonly title: string;
  /** One line for `titan --help`. */
  readonly about: string;
  /**
   * It holds host state that must be left safe (the deploy lock, a switch): a signal stops it at its
   * next safe point. Otherwise a signal ends the process at once, after writing the summary.
   */
  readonly cancellable: boolean;
  run(logger: Logger, signal: AbortSignal): Promise<void>;
}

export const COMMANDS: readonly Command[] = [
  { name: 'deploy', actionDir: 'action-deploy', title: 'Deploy', about: 'deploy a signed bundle to a host (lock, verify on the host, switch, verify, confirm; rolled back on failure)', cancellable: true, run: (logger, signal) => deploy(logger, signal) },
  { name: 'verify', actionDir: 'action-verify', title: 'Verify', about: "check that what runs on a host is the signed release and healthy", cancellable: false, run: (logger) => verify(logger) },
  { name: 'rollback', actionDir: 'action-rollback', title: 'Rollback', about: 'HARD_HALT, then return a host to a previous release (or only halt or stop it)', cancellable: true, run: (logger, signal) => rollback(logger, signal) },
  { name: 'backup', actionDir: 'action-backup', title: 'Backup', about: "back up a host's databases and state to Spaces (S3), encrypted, and check it", cancellable: false, run: (logger) => backup(logger) },
  { name: 'restore', actionDir: 'action-backup/restore', title: 'Restore', about: 'restore a backup from Spaces (S3) onto a host', cancellable: false, run: (logger) => restore(logger) },
  { name: 'provision', actionDir: 'action-provision', title: 'Provision', about: 'create or converge a DigitalOcean Droplet for the stack (firewall, volume, DNS, host keys)', cancellable: false, run: (logger) => provision(logger) },
];

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}

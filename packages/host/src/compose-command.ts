/**
 * The one way a deploy runs Docker Compose on the host, as an argv (every value a quoted argument):
 *
 *   env TITAN_MODE=<mode> docker compose -p <project> --project-directory <dir>
 *       -f <dir>/<file> ... --env-file <app>/shared/.env.prod <subcommand...>
 *
 * The project directory is `<app>/current` (the symbolic link, not what it points at): Compose v1
 * keeps the path as written, so bind mounts read `<app>/current/config/...`, and a service whose
 * definition did not change keeps its container across releases. Docker resolves the link when a
 * container starts, so a stopped container started again mounts the files of the release `current`
 * points at then. TITAN_MODE is set in the command's environment, which Compose lets win over
 * --env-file: the stack runs DISARMED unless the deploy says ARMED.
 */
import type { HostLayout } from './host-layout.js';

export type TitanMode = 'ARMED' | 'DISARMED';

export interface ComposeTarget {
  readonly project: string;
  /** The project directory (`<app>/current`, or a release folder before the switch). */
  readonly projectDir: string;
  /** Compose files relative to the project directory, in `-f` order (the digest override last). */
  readonly composeFiles: readonly string[];
  readonly envFile: string;
  readonly mode: TitanMode;
}

/** The target for the release `current` points at. */
export function currentTarget(layout: HostLayout, project: string, composeFiles: readonly string[], mode: TitanMode): ComposeTarget {
  return { project, projectDir: layout.current, composeFiles, envFile: layout.envFile, mode };
}

/** The target for a release folder itself (pulling its images, a first postgres on a fresh host). */
export function releaseTarget(layout: HostLayout, project: string, releaseId: string, composeFiles: readonly string[], mode: TitanMode): ComposeTarget {
  return { project, projectDir: layout.releaseDir(releaseId), composeFiles, envFile: layout.envFile, mode };
}

export function composeArgv(target: ComposeTarget, subcommand: readonly string[]): string[] {
  return [
    'env', `TITAN_MODE=${target.mode}`,
    'docker', 'compose',
    '-p', target.project,
    '--project-directory', target.projectDir,
    ...target.composeFiles.flatMap((file) => ['-f', `${target.projectDir}/${file}`]),
    '--env-file', target.envFile,
    ...subcommand,
  ];
}

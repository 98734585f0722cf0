/**
 * One poll of the host in ONE remote command: every container of the compose project (docker ps by
 * the project label, then docker inspect with a format that leaves the environment out), the images
 * they run (id and RepoDigests), the sha256 of the policy file under `current/`, and where `current`
 * points. The script takes its values as quoted arguments only.
 */
import type { SshConnection } from '@titan/ssh/connection';
import {
  CONTAINER_INSPECT_FORMAT,
  type ContainerState,
  IMAGE_INSPECT_FORMAT,
  type ImageState,
  InspectFormatError,
  parseContainerLine,
  parseImageLine,
} from './container-state.js';

export type PolicyFileState =
  | { readonly state: 'present'; readonly path: string; readonly sha256: string }
  | { readonly state: 'missing' | 'unreadable'; readonly path: string };

export interface StackSnapshot {
  readonly containers: readonly ContainerState[];
  /** Image id -> image. */
  readonly images: ReadonlyMap<string, ImageState>;
  readonly policyFile: PolicyFileState;
  /** The target of `<appDir>/current` (empty when it is not a symbolic link or is missing). */
  readonly currentTarget: string;
  /** How long the remote command took. */
  readonly durationMs: number;
}

export interface StackProbeRequest {
  readonly project: string;
  readonly appDir: string;
  /** The manifest's policy path, relative to the release folder. */
  readonly policyPath: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export const STACK_PROBE_NAME = 'titan-verify-probe';

// $1 project, $2 app dir, $3 policy path (relative to current/), $4 container format, $5 image format.
// Containers and images may come and go between ps and inspect while compose recreates a service:
// inspect then prints the others and the next poll sees the rest. Any other failure (no Docker
// engine, no permission) ends the script with docker's own message on stderr.
export const STACK_PROBE_SCRIPT = `set -eu
project=$1 app_dir=$2 policy_path=$3 container_format=$4 image_format=$5
ids=$(docker ps -aq --no-trunc --filter "label=com.docker.compose.project=$project")
if [ -n "$ids" ]; then
  # shellcheck disable=SC2086 # ids are hex words
  containers=$(docker inspect --format "{{.Image}} $container_format" $ids 2>/dev/null) || true
  if [ -n "$containers" ]; then
    printf '%s\\n' "$containers" | sed 's/^[^ ]* /container /'
    image_ids=$(printf '%s\\n' "$containers" | cut -d ' ' -f 1 | sort -u)
    # shellcheck disable=SC2086
    docker image inspect --format "$image_format" $image_ids 2>/dev/null | sed 's/^/image /' || true
  fi
fi
policy_file=$app_dir/current/$policy_path
if [ ! -e "$policy_file" ]; then
  printf 'policy-missing\\n'
elif sum=$(sha256sum < "$policy_file" 2>/dev/null); then
  printf 'policy %s\\n' "\${sum%% *}"
else
  printf 'policy-unreadable\\n'
fi
target=$(readlink -- "$app_dir/current" 2>/dev/null) || target=
printf 'current %s\\n' "$target"
printf 'end\\n'
`;

export async function probeStack(connection: SshConnection, request: StackProbeRequest): Promise<StackSnapshot> {
  const result = await connection.runScript(
    STACK_PROBE_SCRIPT,
    [request.project, request.appDir, request.policyPath, CONTAINER_INSPECT_FORMAT, IMAGE_INSPECT_FORMAT],
    {
      name: STACK_PROBE_NAME,
      timeoutMs: request.timeoutMs,
      logOutput: 'none',
      ...(request.signal ? { signal: request.signal } : {}),
    },
  );
  return { ...parseStackProbe(result.stdout, `${request.appDir}/current/${request.policyPath}`), durationMs: result.durationMs };
}

/** Parses the probe's output (one record per line); an incomplete output is an error. */
export function parseStackProbe(stdout: string, policyPath: string): Omit<StackSnapshot, 'durationMs'> {
  const containers: ContainerState[] = [];
  const images = new Map<string, ImageState>();
  let policyFile: PolicyFileState | undefined;
  let currentTarget = '';
  let ended = false;
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const space = line.indexOf(' ');
    const kind = space < 0 ? line : line.slice(0, space);
    const rest = space < 0 ? '' : line.slice(space + 1);
    switch (kind) {
      case 'container':
        containers.push(parseContainerLine(rest));
        break;
      case 'image': {
        const image = parseImageLine(rest);
        images.set(image.id, image);
        break;
      }
      case 'policy':
        if (!/^[0-9a-f]{64}$/.test(rest)) throw new InspectFormatError(`the probe printed a malformed policy sha256: ${rest.slice(0, 80)}`);
        policyFile = { state: 'present', path: policyPath, sha256: rest };
        break;
      case 'policy-missing':
        policyFile = { state: 'missing', path: policyPath };
        break;
      case 'policy-unreadable':
        policyFile = { state: 'unreadable', path: policyPath };
        break;
      case 'current':
        currentTarget = rest;
        break;
      case 'end':
        ended = true;
        break;
      default:
        throw new InspectFormatError(`the probe printed an unexpected line: ${line.slice(0, 80)}`);
    }
  }
  if (!ended || policyFile === undefined) throw new InspectFormatError('the probe output ended early (no end marker)');
  return { containers, images, policyFile, currentTarget };
}

/**
 * The secrets a release mounts as files (its secrets overlay, @titan/release/stack-secrets), checked
 * on the host where they run: each file kept as it must be (@titan/host/secret-files), and its
 * content found nowhere else: not in the release folder, not in a container's log, labels or
 * environment, not in an image's labels, not in what `docker compose config` makes of the release.
 * The search runs on the host with `grep -F -f <secret file>`, so the content never leaves the file:
 * not on a command line, not over the connection. What is reported names the secret file and the
 * place, never the content.
 */
import { composeArgv, currentTarget } from '@titan/host/compose-command';
import { HostLayout } from '@titan/host/host-layout';
import { inspectSecretFiles, releaseSecretPaths } from '@titan/host/secret-files';
import type { ReleaseManifest } from '@titan/release/manifest';
import type { SshConnection } from '@titan/ssh/connection';
import type { VerifyFailure } from './verify-report.js';

export const SECRET_EXPOSURE_SCRIPT_NAME = 'titan-secret-exposure';

// $1 app dir, $2 release id, $3 project, $4 the number N of secret paths, then N paths (relative to
// the app dir), then the compose command (argv) whose `config` output is searched. One line per
// finding: <secret path> TAB <where>. A secret file that cannot be searched (unreadable, or holding
// an empty line, which would match everything) is reported as such.
export const SECRET_EXPOSURE_SCRIPT = `set -eu
app=$1
release=$2
project=$3
count=$4
shift 4
secrets=""
i=0
while [ "$i" -lt "$count" ]; do
  secrets="$secrets $1"
  shift
  i=$((i + 1))
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 0700 "$work"
# What is searched, gathered once: the compose model, every container's labels and environment (one
# line each, its service and id first), every image's labels, every container's log.
# Compose (a second or so to start) runs while the containers are read.
"$@" config >"$work/config" 2>/dev/null &
config_pid=$!
ids=$(docker ps -aq --filter "label=com.docker.compose.project=$project")
: >"$work/containers"
: >"$work/images"
if [ -n "$ids" ]; then
  # shellcheck disable=SC2086 # one id per word
  docker inspect --format '{{index .Config.Labels "com.docker.compose.service"}} ({{printf "%.12s" .Id}}){{"\\t"}}{{json .Config.Labels}}{{"\\t"}}{{json .Config.Env}}' $ids >"$work/containers" || true
  # shellcheck disable=SC2086
  images=$(docker inspect --format '{{.Image}}' $ids | sort -u) || true
  # shellcheck disable=SC2086
  [ -z "$images" ] || docker image inspect --format '{{printf "%.19s" .Id}}{{"\\t"}}{{json .Config.Labels}}' $images >"$work/images" || true
  for id in $ids; do
    docker logs "$id" >"$work/log.$id" 2>&1 || true
  done
fi
if ! wait "$config_pid"; then printf '%s\\t%s\\n' "-" "docker compose config failed: its output was not searched"; fi
for rel in $secrets; do
  f="$app/$rel"
  if [ ! -f "$f" ] || [ ! -r "$f" ]; then printf '%s\\t%s\\n' "$rel" "cannot be read, so it was not searched for"; continue; fi
  if grep -q '^$' "$f"; then printf '%s\\t%s\\n' "$rel" "holds an empty line, so it was not searched for"; continue; fi
  grep -rlF -f "$f" -- "$app/releases/$release" 2>/dev/null | while IFS= read -r hit; do
    printf '%s\\t%s\\n' "$rel" "the release file \${hit#"$app/"}"
  done
  if grep -qF -f "$f" "$work/config"; then printf '%s\\t%s\\n' "$rel" "the output of docker compose config"; fi
  grep -F -f "$f" "$work/containers" | cut -f1 | while IFS= read -r container; do
    printf '%s\\t%s\\n' "$rel" "the labels or environment of container $container"
  done
  grep -F -f "$f" "$work/images" | cut -f1 | while IFS= read -r image; do
    printf '%s\\t%s\\n' "$rel" "the labels of image $image"
  done
  for id in $ids; do
    if grep -qF -f "$f" "$work/log.$id"; then
      printf '%s\\t%s\\n' "$rel" "the log of container $(grep -F "($(printf '%.12s' "$id"))" "$work/containers" | cut -f1 | head -n 1)"
    fi
  done
done
`;

export interface SecretExposure {
  /** The secret file, relative to the app folder (`-` for what concerns no one file). */
  readonly secret: string;
  readonly where: string;
}

/**
 * The secret-file failures of the release `manifest` running in `project`: each file's state on the
 * host, then each place its content was found. Empty when the release mounts no secret file.
 */
export async function checkSecretFiles(connection: SshConnection, options: { appDir: string; project: string; manifest: ReleaseManifest; timeoutMs: number }): Promise<VerifyFailure[]> {
  const layout = new HostLayout(options.appDir);
  const paths = await releaseSecretPaths(connection, layout, options.manifest);
  if (paths.length === 0) return [];
  const failures: VerifyFailure[] = (await inspectSecretFiles(connection, layout, paths)).map((p) => ({ service: 'host', check: 'secret-file', detail: `${p.path} ${p.problem}` }));
  const argv = composeArgv(currentTarget(layout, options.project, options.manifest.compose, 'DISARMED'), []);
  const { stdout } = await connection.runScript(SECRET_EXPOSURE_SCRIPT, [options.appDir, options.manifest.releaseId, options.project, String(paths.length), ...paths, ...argv], {
    name: SECRET_EXPOSURE_SCRIPT_NAME,
    timeoutMs: Math.max(30_000, options.timeoutMs),
  });
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const [secret = '', ...rest] = line.split('\t');
    failures.push({ service: 'host', check: 'secret-exposure', detail: secret === '-' ? rest.join('\t') : `the content of ${secret} is in ${rest.join('\t')}` });
  }
  return failures;
}

/**
 * Pulls every image of a release by digest before anything stops, so that a registry that is down
 * or an image that is gone fails the deploy while the running stack is still untouched. Images the
 * engine already has are not pulled again; the rest are pulled in parallel.
 */
import type { Logger } from '@titan/log/logger';
import type { ReleaseImage } from '@titan/release/manifest';
import { pinnedImageReference } from '@titan/release/image-reference';
import type { SshConnection } from '@titan/ssh/connection';

export const PULL_IMAGES_SCRIPT_NAME = 'titan-pull-images';

// $@ image references `repository@sha256:...`. One line per reference: present, pulled or failed.
export const PULL_IMAGES_SCRIPT = `set -eu
if docker image inspect --format '{{.Id}}' "$@" > /dev/null 2>&1; then
  for ref in "$@"; do printf 'present %s\\n' "$ref"; done
  exit 0
fi
pids=''
for ref in "$@"; do
  if docker image inspect --format '{{.Id}}' "$ref" > /dev/null 2>&1; then
    printf 'present %s\\n' "$ref"
  else
    (
      if docker pull -q "$ref" > /dev/null; then
        printf 'pulled %s\\n' "$ref"
      else
        printf 'failed %s\\n' "$ref"
        exit 1
      fi
    ) &
    pids="$pids $!"
  fi
done
status=0
for pid in $pids; do
  wait "$pid" || status=1
done
exit "$status"
`;

export interface PullResult {
  readonly pulled: string[];
  readonly present: string[];
}

export async function pullImages(connection: SshConnection, images: Readonly<Record<string, ReleaseImage>>, logger: Logger): Promise<PullResult> {
  const refs = Object.keys(images)
    .sort()
    .map((service) => {
      const image = images[service];
      if (image === undefined) throw new Error(`no image for ${service}`);
      return pinnedImageReference(image.image, image.digest);
    });
  try {
    const { stdout } = await connection.runScript(PULL_IMAGES_SCRIPT, refs, { name: PULL_IMAGES_SCRIPT_NAME, timeoutMs: 30 * 60_000 });
    const pulled: string[] = [];
    const present: string[] = [];
    for (const line of stdout.split('\n')) {
      const [state, ref] = line.split(' ');
      if (ref === undefined) continue;
      if (state === 'pulled') pulled.push(ref);
      else if (state === 'present') present.push(ref);
    }
    logger.info(`Images by digest: ${pulled.length} pulled, ${present.length} already on the host.`);
    return { pulled, present };
  } catch (error: unknown) {
    throw new Error(
      `Pulling the release's images by digest failed on ${connection.host}; nothing was stopped. ` +
        `Check that the registry is reachable from the host and still holds every digest the release pins.\n${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}

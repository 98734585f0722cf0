import { createHash } from 'node:crypto';
import { compareBytes, hashFile, readBuildContext, type BuildContext } from './build-context.js';

/**
 * The build key of an image: sha256 (hex) over everything that decides what `docker build` makes
 * and where it goes, as one JSON document (so no two different inputs share a serialisation):
 * - `v`: the version of this definition (1);
 * - `repository`: the full repository the image is pushed to (a digest is only reusable where it
 *   was pushed: a new registry means a new build);
 * - `dockerfile`: sha256 of the Dockerfile's bytes (counted even when it lies outside the context);
 * - `platform`: the target platform, or null;
 * - `args`: the build args as [name, value], sorted by name;
 * - `context`: every entry the context sends (after `.dockerignore`), sorted by path (UTF-8 bytes),
 *   each [path, mode, sha256]: modes as git keeps them (644/755/symlink/dir), so neither
 *   modification times, owners, umask nor listing order change it.
 * Not covered: the base images named in FROM, when they are referenced by tag (pin them by digest in
 * the Dockerfile to make a new base a new key), and anything a build fetches from the network.
 */
export interface BuildKeyInputs {
  repository: string;
  context: string;
  dockerfile: string;
  buildArgs: readonly (readonly [string, string])[];
  platform?: string;
}

export const BUILD_KEY = /^[0-9a-f]{64}$/;

/** Memoised contexts, so services that share one context read it once per plan. */
export type ContextReader = (context: string, dockerfile: string) => Promise<BuildContext>;

export function memoisedContextReader(): ContextReader {
  const seen = new Map<string, Promise<BuildContext>>();
  return (context, dockerfile) => {
    const id = JSON.stringify([context, dockerfile]);
    let found = seen.get(id);
    if (found === undefined) {
      found = readBuildContext(context, dockerfile);
      seen.set(id, found);
    }
    return found;
  };
}

export async function computeBuildKey(inputs: BuildKeyInputs, readContext: ContextReader = readBuildContext): Promise<string> {
  const [context, dockerfile] = await Promise.all([readContext(inputs.context, inputs.dockerfile), hashFile(inputs.dockerfile)]);
  const args = [...inputs.buildArgs].sort(([a], [b]) => compareBytes(a, b));
  const document = JSON.stringify({
    v: 1,
    repository: inputs.repository,
    dockerfile,
    platform: inputs.platform ?? null,
    args,
    context: context.entries.map((e) => [e.path, e.mode, e.sha256]),
  });
  return createHash('sha256').update(document).digest('hex');
}

import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '@titan/log/logger';
import type { MatrixLeg, StrategyMatrix } from '@titan/matrix/build-plan';
import { isImageDigest } from '@titan/matrix/image-digest';

/**
 * Test support, not part of the action (on GitHub, docker/build-push-action builds the legs): builds
 * and pushes every leg of a matrix with the Docker CLI, and leaves `<digestsDir>/<service>` holding
 * `sha256:<hex>` and a newline, exactly as a build leg does. Legs run one after another
 * (`DOCKER_BUILDKIT=0`, the legacy builder the test host's engine offers).
 *
 * Usage: `const digests = await buildLegs(plan.matrix, { digestsDir, workspace, logger })`.
 */
export interface BuildLegsOptions {
  /** Where the digest files go (created if missing). */
  digestsDir: string;
  /** The directory the legs' context and dockerfile paths are relative to (the plan's workspace). */
  workspace: string;
  logger: Logger;
  /** The Docker CLI (default `docker` on PATH). */
  docker?: string;
}

const run = promisify(execFile);

/** Builds, pushes and records every leg; returns service -> pushed digest. */
export async function buildLegs(matrix: StrategyMatrix, options: BuildLegsOptions): Promise<Map<string, string>> {
  await mkdir(options.digestsDir, { recursive: true });
  const digests = new Map<string, string>();
  for (const leg of matrix.include) {
    const digest = await buildLeg(leg, options);
    await writeFile(join(options.digestsDir, leg.service), `${digest}\n`);
    digests.set(leg.service, digest);
  }
  return digests;
}

export async function buildLeg(leg: MatrixLeg, options: BuildLegsOptions): Promise<string> {
  const tags = leg.tags.split('\n').filter((t) => t !== '');
  if (tags.length === 0) throw new Error(`${leg.service}: the leg has no tags`);
  const buildArgs = leg['build-args'].split('\n').filter((a) => a !== '');
  const args = [
    'build',
    '--file',
    leg.dockerfile,
    ...buildArgs.flatMap((a) => ['--build-arg', a]),
    ...tags.flatMap((t) => ['--tag', t]),
    ...(leg.platforms === undefined ? [] : ['--platform', leg.platforms]),
    leg.context,
  ];
  options.logger.info(`${leg.service}: docker ${args.join(' ')}`);
  await docker(options, args, leg.service);
  const pushed = new Set<string>();
  for (const tag of tags) {
    const output = await docker(options, ['push', tag], leg.service);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(output)?.[1];
    if (digest === undefined) throw new Error(`${leg.service}: docker push ${tag} printed no digest:\n${output}`);
    pushed.add(digest);
  }
  const repoDigests = JSON.parse(await docker(options, ['image', 'inspect', '--format', '{{json .RepoDigests}}', tags[0] ?? ''], leg.service)) as string[];
  const digest = repoDigests.find((d) => d.startsWith(`${leg.image}@`))?.slice(leg.image.length + 1);
  if (digest === undefined || !isImageDigest(digest)) {
    throw new Error(`${leg.service}: no digest of ${leg.image} among the image's RepoDigests ${JSON.stringify(repoDigests)}`);
  }
  if (pushed.size !== 1 || !pushed.has(digest)) {
    throw new Error(`${leg.service}: docker push reported ${[...pushed].join(', ')}, docker inspect ${digest}`);
  }
  options.logger.info(`${leg.service}: pushed ${leg.image}@${digest}`);
  return digest;
}

async function docker(options: BuildLegsOptions, args: string[], service: string): Promise<string> {
  try {
    const { stdout } = await run(options.docker ?? 'docker', args, {
      cwd: options.workspace,
      env: { ...process.env, DOCKER_BUILDKIT: '0' },
      maxBuffer: 64 * 1024 * 1024,
      encoding: 'utf8',
    });
    return stdout;
  } catch (error: unknown) {
    const stderr = error instanceof Error && 'stderr' in error ? String(error.stderr) : '';
    throw new Error(`${service}: docker ${args[0] ?? ''} failed: ${stderr.trim() || (error instanceof Error ? error.message : String(error))}`, { cause: error });
  }
}

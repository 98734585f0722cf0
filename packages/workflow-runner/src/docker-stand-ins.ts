/**
 * docker/setup-buildx-action, docker/login-action and docker/build-push-action, locally, on the test
 * host's real Docker engine and registry: the image is built by `docker build` (the engine's legacy
 * builder, DOCKER_BUILDKIT=0: the machine has no buildx), each tag pushed by `docker push`, and the
 * digest the registry answered is the step's `digest` output, exactly what the next job pins.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { booleanInput, listInput, type StandIn, type StandInContext, StepFailure } from './stand-in.js';

const run = promisify(execFile);

async function docker(context: StandInContext, args: string[]): Promise<string> {
  context.log(`docker ${args.join(' ')}`);
  try {
    const { stdout, stderr } = await run('docker', args, {
      cwd: context.workspace,
      env: { ...context.env, DOCKER_BUILDKIT: '0' },
      maxBuffer: 64 * 1024 * 1024,
      encoding: 'utf8',
      ...(context.signal !== undefined ? { signal: context.signal } : {}),
    });
    return `${stdout}${stderr}`;
  } catch (error: unknown) {
    const stderr = error instanceof Error && 'stderr' in error ? String(error.stderr).trim() : '';
    throw new StepFailure(`docker ${args[0] ?? ''} failed: ${stderr || (error instanceof Error ? error.message : String(error))}`, { cause: error });
  }
}

export const setupBuildxStandIn: StandIn = {
  uses: 'docker/setup-buildx-action',
  versions: ['v4'],
  inputs: ['driver', 'install', 'cleanup'],
  outputs: ['name', 'driver', 'platforms'],
  does: "checks that the Docker engine answers; builds use the engine's own builder (driver docker)",
  async run(context) {
    const driver = context.inputs['driver'] || 'docker-container';
    const version = (await docker(context, ['version', '--format', '{{.Server.Version}}'])).trim();
    context.log(`Docker engine ${version}; builder default (the engine's builder stands in for the ${driver} driver)`);
    return { name: 'default', driver: 'docker', platforms: 'linux/amd64' };
  },
};

export const loginStandIn: StandIn = {
  uses: 'docker/login-action',
  versions: ['v4'],
  inputs: ['registry', 'username', 'password', 'logout'],
  outputs: [],
  does: 'checks that the registry answers its /v2/ endpoint and that credentials were given; stores no credential (the test registry needs none)',
  async run(context) {
    const registry = context.inputs['registry'] ?? '';
    if (registry === '') throw new StepFailure('the stand-in logs in to a named registry only (Docker Hub is not reachable here)');
    const username = context.inputs['username'] ?? '';
    const password = context.inputs['password'] ?? '';
    if (username === '' || password === '') throw new StepFailure('Username and password required');
    booleanInput(context, 'logout', true);
    const host = registry.split('/')[0] ?? registry;
    const scheme = /^(127\.|localhost[:]?)/.test(host) ? 'http' : 'https';
    let status: number;
    try {
      status = (await fetch(`${scheme}://${host}/v2/`, { signal: AbortSignal.timeout(10_000) })).status;
    } catch (error: unknown) {
      throw new StepFailure(`Error response from daemon: Get "${scheme}://${host}/v2/": ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    if (status !== 200 && status !== 401) throw new StepFailure(`the registry ${host} answered /v2/ with HTTP ${status}`);
    context.log(`Login Succeeded (${host} answered /v2/ with HTTP ${status}; no credential stored)`);
    return {};
  },
};

export const buildPushStandIn: StandIn = {
  uses: 'docker/build-push-action',
  versions: ['v7'],
  inputs: ['context', 'file', 'build-args', 'tags', 'labels', 'push', 'load', 'platforms', 'target', 'no-cache', 'pull', 'provenance', 'sbom', 'github-token'],
  outputs: ['imageid', 'digest', 'metadata'],
  does: 'docker build (legacy builder) with the same context, file, build args, tags, labels and target, then docker push of every tag; digest is what the registry answered',
  async run(context) {
    const buildContext = context.inputs['context'] ?? '';
    if (buildContext === '') throw new StepFailure("the stand-in builds a path context only: give context (the real action's default is the git context)");
    for (const attestation of ['provenance', 'sbom']) {
      const value = context.inputs[attestation] ?? '';
      if (value !== '' && value !== 'false') throw new StepFailure(`${attestation}: the engine's builder makes no attestations; set ${attestation}: false`);
    }
    const tags = listInput(context, 'tags', true);
    const push = booleanInput(context, 'push', false);
    if (push && tags.length === 0) throw new StepFailure('tag is needed when pushing to registry');
    const platforms = listInput(context, 'platforms', true);
    if (platforms.length > 1) throw new StepFailure(`the engine's builder builds one platform, not ${platforms.join(', ')}`);
    const args = ['build', '--quiet'];
    if (context.inputs['file']) args.push('--file', context.inputs['file']);
    for (const arg of listInput(context, 'build-args')) args.push('--build-arg', arg);
    for (const tag of tags) args.push('--tag', tag);
    for (const label of listInput(context, 'labels')) args.push('--label', label);
    if (context.inputs['target']) args.push('--target', context.inputs['target']);
    if (booleanInput(context, 'no-cache', false)) args.push('--no-cache');
    if (booleanInput(context, 'pull', false)) args.push('--pull');
    if (platforms[0] !== undefined) args.push('--platform', platforms[0]);
    args.push(buildContext);
    const imageid = (await docker(context, args)).trim().split('\n').pop() ?? '';
    let digest = '';
    for (const tag of push ? tags : []) {
      const pushed = /digest: (sha256:[0-9a-f]{64})/.exec(await docker(context, ['push', tag]))?.[1];
      if (pushed === undefined) throw new StepFailure(`docker push ${tag} reported no digest`);
      if (digest !== '' && pushed !== digest) throw new StepFailure(`the tags were pushed with different digests (${digest}, ${pushed})`);
      digest = pushed;
      context.log(`pushed ${tag} (${digest})`);
    }
    const metadata = JSON.stringify({ 'containerimage.digest': digest, 'image.name': tags.join(','), 'containerimage.config.digest': imageid });
    return { imageid, digest, metadata };
  },
};

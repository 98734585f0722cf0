import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ReleaseSourceError } from '@titan/release/release-source-error';
import { readServicesFile, ServicesFileError } from '@titan/release/services-file';

const EXAMPLE = resolve(import.meta.dirname, '../../../examples/titan/services.yml');
const scratch: string[] = [];

afterEach(async () => {
  for (const dir of scratch.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** What every services.yml below ships: one compose file, the config folder with the policy, migrations. */
const RELEASE = 'release:\n  compose: [docker-compose.yml]\n  policy: config/policy.json\n  config: config\n  migrations: migrations\n';
const APP = 'context: images/app\n    dockerfile: images/app/Dockerfile';

/** A services.yml in a temporary release source with one build context, images/app, with a Dockerfile. */
async function servicesYml(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'titan-services-'));
  scratch.push(dir);
  await mkdir(join(dir, 'images/app'), { recursive: true });
  await mkdir(join(dir, 'config'));
  await mkdir(join(dir, 'migrations'));
  await writeFile(join(dir, 'images/app/Dockerfile'), 'FROM scratch\n');
  await writeFile(join(dir, 'docker-compose.yml'), 'services: {}\n');
  await writeFile(join(dir, 'config/policy.json'), '{}\n');
  const path = join(dir, 'services.yml');
  await writeFile(path, text);
  return path;
}

/** The refusal's problems as `LINE: message`. */
async function problemsOf(text: string): Promise<string[]> {
  const error = await readServicesFile(await servicesYml(text), 'services.yml').then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ServicesFileError);
  const refusal = error as ServicesFileError;
  expect(refusal.message.split('\n').slice(1)).toEqual(refusal.problems.map((p) => `services.yml:${p.line}: ${p.message}`));
  return refusal.problems.map((p) => `${p.line}: ${p.message}`);
}

describe('services.yml, the one reader', () => {
  it('reads the sample release: 17 images, paths of the bundle as written, build paths resolved against the file', async () => {
    const file = await readServicesFile(EXAMPLE);
    expect(file.registry).toBe('127.0.0.1:5000/titan');
    expect(file.images).toHaveLength(17);
    expect(new Set(file.images.map((i) => i.service)).size).toBe(17);
    const execution = file.images.find((i) => i.service === 'titan-execution');
    expect(execution?.image).toBe('titan-execution-rs');
    expect(execution?.context).toBe(resolve(EXAMPLE, '../images/titan-service'));
    // The port it listens on is written once, as PORT in its compose definition: no build argument.
    expect(execution?.buildArgs).toEqual([['SERVICE', 'titan-execution']]);
    expect(file.values.required).toHaveLength(24);
    expect(file.values.distinct).toEqual(file.values.required.filter((n) => n.startsWith('NATS_')));
    expect(file.release).toEqual({ compose: ['docker-compose.yml', 'docker-compose.prod.yml', 'docker-compose.secrets.yml'], policy: 'config/policy.json', config: 'config', migrations: 'migrations', envTemplate: 'production.env.template' });
  });

  it('names the file when it does not exist', async () => {
    const error = await readServicesFile('/nonexistent/services.yml').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReleaseSourceError);
    expect((error as Error).message).toBe('/nonexistent/services.yml: does not exist: a release source holds a services.yml (see examples/titan/services.yml)');
  });

  it('reports every problem at once, each at its line: unknown keys, a missing release section and a missing context', async () => {
    const problems = await problemsOf(`registry: 127.0.0.1:5000/titan\nrelase: {}\nimages:\n  - service: app\n    image: app\n    buildargs: {}\n`);
    expect(problems).toEqual([
      '1: release: missing; name the compose files, policy, config and migrations folders the release ships',
      '2: the top level: unknown key "relase" (known keys: registry, release, images, values)',
      '4: images[0] (app).context: missing; give the build context folder',
      '6: images[0]: unknown key "buildargs" (known keys: service, image, context, dockerfile, build-args)',
    ]);
  });

  it('refuses a service listed twice (in any case) and two services pushing to one repository', async () => {
    const problems = await problemsOf(`${RELEASE}images:\n  - service: app\n    image: app\n    ${APP}\n  - service: App\n    image: app\n    ${APP}\n`);
    expect(problems).toEqual([
      '11: images[1].service: "App" is listed twice (first at images[0]); each service has one image',
      '12: images[1] (App).image: "app" is also the image of images[0]; two services cannot push to one repository',
    ]);
  });

  it('refuses release paths outside the bundle, a policy outside config, a reserved name, missing or wrong-kind paths', async () => {
    const problems = await problemsOf(
      'release:\n  compose: [docker-compose.yml, manifest.json, docker-compose.yml]\n  policy: policy.json\n  config: ../config\n  migrations: missing\n' +
        `images:\n  - service: app\n    image: app\n    context: images/app/Dockerfile\n    dockerfile: images/app\n  - service: other\n    image: other\n    context: .\n`,
    );
    expect(problems).toEqual([
      '2: release.compose[1]: manifest.json is a name reserved for what sign writes into the bundle (manifest.json, manifest.sig, docker-compose.digests.yml); rename the file',
      '2: release.compose[2]: docker-compose.yml is listed twice',
      '3: release.policy: policy.json does not exist (paths are relative to the folder of services.yml)',
      '4: release.config: "../config" is not a safe path inside the source folder: the path has a "." or ".." segment',
      '5: release.migrations: missing does not exist (paths are relative to the folder of services.yml)',
      '9: images[0] (app).context: images/app/Dockerfile is not a folder',
      '10: images[0] (app).dockerfile: images/app is not a file',
      '11: images[1] (other).dockerfile (default: <context>/Dockerfile): ./Dockerfile does not exist (paths are relative to the folder of services.yml)',
    ]);
  });

  it('refuses names outside the one set of name rules, and a malformed registry', async () => {
    const problems = await problemsOf(`registry: https://ghcr.io/acme\n${RELEASE}images:\n  - service: -brain\n    image: ../brain\n    ${APP}\n  - service: ok\n    image: brain:latest\n    ${APP}\n`);
    expect(problems).toEqual([
      '1: registry: "https://ghcr.io/acme" starts with a scheme: give the registry as host[:port]/path, e.g. 127.0.0.1:5000/titan',
      expect.stringMatching(/^8: images\[0\]\.service: "-brain" is not a compose service name/),
      expect.stringMatching(/^9: images\[0\]\.image: "\.\.\/brain" is not an image name below the registry/),
      '13: images[1] (ok).image: "brain:latest" holds a tag or digest: give the repository below the registry only (the release tags and pins it)',
    ]);
    for (const [registry, reason] of [
      ['ghcr.io/Acme', '"Acme" in "ghcr.io/Acme" is not a valid repository path component'],
      ['127.0.0.1:99999/titan', 'port 99999 of "127.0.0.1:99999/titan" is out of range'],
    ] as const) {
      expect((await problemsOf(`registry: ${registry}\n${RELEASE}images:\n  - service: app\n    image: app\n    ${APP}\n`))[0]).toContain(reason);
    }
  });

  it('refuses build args that are not NAME: value pairs on one line, and reports YAML syntax errors at their line', async () => {
    const problems = await problemsOf(`${RELEASE}images:\n  - service: app\n    image: app\n    ${APP}\n    build-args: { 1BAD: x, OK: [a], LINES: "a\\nb" }\n`);
    expect(problems.join('\n')).toContain('"1BAD" is not a valid build arg name');
    expect(problems.join('\n')).toContain('images[0] (app).build-args.OK: expected a string, number or boolean value');
    expect(problems.join('\n')).toContain('images[0] (app).build-args.LINES: the value spans lines');
    expect((await problemsOf('images:\n  - service: app\n    service: app2\n'))[0]).toMatch(/^3: Map keys must be unique/);
  });

  it('reads the production values a deploy needs, refusing names that are not variables, twice, or distinct but not required', async () => {
    const problems = await problemsOf(`${RELEASE}values:\n  required: [HMAC_SECRET, NATS_A, HMAC_SECRET, not-a-name]\n  distinct: [NATS_A, NATS_B]\n  optional: []\nimages:\n  - service: app\n    image: app\n    ${APP}\n`);
    expect(problems).toEqual([
      '7: values.required[2]: HMAC_SECRET is listed twice',
      '7: values.required[3]: "not-a-name" is not a variable name (letters, digits and _)',
      '8: values.distinct: NATS_B is not in values.required; only required values are compared',
      '9: values: unknown key "optional" (known keys: required, distinct)',
    ]);
    const none = await readServicesFile(await servicesYml(`${RELEASE}images:\n  - service: app\n    image: app\n    ${APP}\n`));
    expect(none.values).toEqual({ required: [], distinct: [] });
  });

  it('keeps build args as written, and takes NAME=value lists too', async () => {
    const map = await servicesYml(`${RELEASE}images:\n  - service: app\n    image: app\n    ${APP}\n    build-args: { VERSION: 1.10, PORT: 3100, DEBUG: true }\n`);
    expect((await readServicesFile(map)).images[0]?.buildArgs).toEqual([
      ['DEBUG', 'true'],
      ['PORT', '3100'],
      ['VERSION', '1.10'],
    ]);
    const list = await servicesYml(`${RELEASE}images:\n  - service: app\n    image: app\n    context: images/app\n    build-args: [ "B=x=y", "A=" ]\n`);
    const image = (await readServicesFile(list)).images[0];
    expect(image?.buildArgs).toEqual([
      ['A', ''],
      ['B', 'x=y'],
    ]);
    expect(image?.dockerfile).toBe(join(list, '../images/app/Dockerfile'));
  });
});

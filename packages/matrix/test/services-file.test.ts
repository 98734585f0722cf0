import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MatrixInputError } from '@titan/matrix/matrix-input-error';
import { loadServicesFile } from '@titan/matrix/services-file';

const EXAMPLE = resolve(import.meta.dirname, '../../../examples/titan/services.yml');
const scratch: string[] = [];

afterEach(async () => {
  for (const dir of scratch.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** A services.yml in a temporary folder that has one build context, images/app, with a Dockerfile. */
async function servicesYml(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'titan-services-'));
  scratch.push(dir);
  await mkdir(join(dir, 'images/app'), { recursive: true });
  await writeFile(join(dir, 'images/app/Dockerfile'), 'FROM scratch\n');
  const path = join(dir, 'services.yml');
  await writeFile(path, text);
  return path;
}

async function problemsOf(text: string): Promise<MatrixInputError> {
  const path = await servicesYml(text);
  const error = await loadServicesFile(path, 'services.yml').then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MatrixInputError);
  return error as MatrixInputError;
}

const APP = 'context: images/app\n    dockerfile: images/app/Dockerfile';

describe('services.yml', () => {
  it('reads the sample release: 17 images, console-api and opsd included, paths resolved against the file', async () => {
    const file = await loadServicesFile(EXAMPLE);
    expect(file.registry).toBe('127.0.0.1:5000/titan');
    expect(file.images).toHaveLength(17);
    const services = file.images.map((i) => i.service);
    expect(services).toContain('titan-console-api');
    expect(services).toContain('titan-opsd');
    expect(new Set(services).size).toBe(17);
    const execution = file.images.find((i) => i.service === 'titan-execution');
    expect(execution?.image).toBe('titan-execution-rs');
    expect(execution?.context).toBe(resolve(EXAMPLE, '../images/titan-service'));
    expect(execution?.buildArgs).toEqual([
      ['PORT', '3002'],
      ['SERVICE', 'titan-execution'],
    ]);
    expect(file.release.compose).toEqual([resolve(EXAMPLE, '../docker-compose.yml'), resolve(EXAMPLE, '../docker-compose.prod.yml'), resolve(EXAMPLE, '../docker-compose.secrets.yml')]);
    expect(file.release.migrations).toBe(resolve(EXAMPLE, '../migrations'));
  });

  it('names the file when it does not exist, and the input to fix', async () => {
    await expect(loadServicesFile('/nonexistent/services.yml')).rejects.toThrow(
      /\/nonexistent\/services\.yml does not exist: set the input services-file/,
    );
  });

  it('rejects unknown keys with their line, at every level', async () => {
    const error = await problemsOf(
      `registry: 127.0.0.1:5000/titan\nrelase: {}\nimages:\n  - service: app\n    image: app\n    ${APP}\n    buildargs: {}\n`,
    );
    expect(error.message).toContain('services.yml has 2 problems:');
    expect(error.problems).toContain('services.yml:2:1: the top level: unknown key "relase" (known keys: registry, release, images)');
    expect(error.problems).toContain(
      'services.yml:8:5: images[0]: unknown key "buildargs" (known keys: service, image, context, dockerfile, build-args)',
    );
  });

  it('rejects a service listed twice and two services pushing to one repository', async () => {
    const error = await problemsOf(
      `images:\n  - service: app\n    image: app\n    ${APP}\n  - service: app\n    image: app\n    ${APP}\n`,
    );
    expect(error.problems.join('\n')).toContain('images[1].service: "app" is listed twice (first at images[0])');
    expect(error.problems.join('\n')).toContain('images[1] (app).image: "app" is also the image of images[0]');
  });

  it('rejects a context or Dockerfile that does not exist, or is the wrong kind', async () => {
    const error = await problemsOf(
      `images:\n  - service: app\n    image: app\n    context: images/missing\n    dockerfile: images/app/Dockerfile.prod\n  - service: other\n    image: other\n    context: images/app/Dockerfile\n    dockerfile: images/app\n`,
    );
    const text = error.problems.join('\n');
    expect(text).toContain('services.yml:4:14: images[0] (app).context: images/missing does not exist');
    expect(text).toContain('images[0] (app).dockerfile: images/app/Dockerfile.prod does not exist');
    expect(text).toContain('images[1] (other).context: images/app/Dockerfile is not a directory');
    expect(text).toContain('images[1] (other).dockerfile: images/app is not a file');
  });

  it('defaults the Dockerfile to <context>/Dockerfile, and says so when it is missing', async () => {
    const ok = await servicesYml('images:\n  - service: app\n    image: app\n    context: images/app\n');
    expect((await loadServicesFile(ok)).images[0]?.dockerfile).toBe(join(ok, '../images/app/Dockerfile'));
    const error = await problemsOf('images:\n  - service: app\n    image: app\n    context: .\n');
    expect(error.message).toContain('images[0] (app).dockerfile (default: <context>/Dockerfile): ./Dockerfile does not exist');
  });

  it('rejects unsafe service and image names', async () => {
    const error = await problemsOf(
      `images:\n  - service: Titan_Brain\n    image: ../brain\n    ${APP}\n  - service: ok\n    image: brain-\n    ${APP}\n`,
    );
    const text = error.problems.join('\n');
    expect(text).toContain('images[0].service: "Titan_Brain" is not a safe service name');
    expect(text).toContain('^[a-z0-9][a-z0-9._-]*$');
    expect(text).toContain('"../brain" is not a safe image name');
    expect(text).toContain('images[1] (ok).image: "brain-" is not a valid image name for a registry');
  });

  it('rejects a malformed registry', async () => {
    for (const [registry, reason] of [
      ['https://ghcr.io/acme', 'starts with a scheme'],
      ['ghcr.io/Acme', '"Acme" in "ghcr.io/Acme" is not a valid repository path component'],
      ['127.0.0.1:99999/titan', 'port 99999 of "127.0.0.1:99999/titan" is out of range'],
      ['ghcr.io//titan', '"" in "ghcr.io//titan" is not a valid repository path component'],
    ] as const) {
      const error = await problemsOf(`registry: ${registry}\nimages:\n  - service: app\n    image: app\n    ${APP}\n`);
      expect(error.message).toContain(`services.yml:1:11: registry: `);
      expect(error.message).toContain(reason);
    }
  });

  it('rejects build args that are not NAME: value pairs on one line', async () => {
    const error = await problemsOf(
      `images:\n  - service: app\n    image: app\n    ${APP}\n    build-args: { 1BAD: x, OK: [a], LINES: "a\\nb" }\n`,
    );
    const text = error.problems.join('\n');
    expect(text).toContain('"1BAD" is not a valid build arg name');
    expect(text).toContain('images[0] (app).build-args.OK: expected a string, number or boolean value');
    expect(text).toContain('images[0] (app).build-args.LINES: the value spans lines');
  });

  it('reports YAML syntax errors and duplicate keys with their position', async () => {
    const error = await problemsOf('images:\n  - service: app\n    service: app2\n');
    expect(error.message).toMatch(/^services\.yml:3:5: Map keys must be unique/);
  });
});

describe('build args', () => {
  it('keeps numbers and booleans as written, and takes NAME=value lists too', async () => {
    const map = await servicesYml(`images:\n  - service: app\n    image: app\n    ${APP}\n    build-args: { VERSION: 1.10, PORT: 3100, DEBUG: true }\n`);
    expect((await loadServicesFile(map)).images[0]?.buildArgs).toEqual([
      ['DEBUG', 'true'],
      ['PORT', '3100'],
      ['VERSION', '1.10'],
    ]);
    const list = await servicesYml(`images:\n  - service: app\n    image: app\n    ${APP}\n    build-args: [ "B=x=y", "A=" ]\n`);
    expect((await loadServicesFile(list)).images[0]?.buildArgs).toEqual([
      ['A', ''],
      ['B', 'x=y'],
    ]);
  });
});

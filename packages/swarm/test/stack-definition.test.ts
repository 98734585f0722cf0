/** What the swarm target refuses in a release before anything changes, and what it accepts. */
import { describe, expect, it } from 'vitest';
import { readComposeView } from '@titan/release/compose-model';
import type { LocalBundle } from '@titan/release/local-bundle';
import type { ReleaseManifest } from '@titan/release/manifest';
import { hostIpOf, releaseLabelFile, swarmDefinitionProblems } from '@titan/swarm/stack-definition';

function bundle(compose: string, extra: Partial<ReleaseManifest> = {}): LocalBundle {
  const manifest = {
    releaseId: 'r1',
    compose: ['docker-compose.yml', 'docker-compose.digests.yml'],
    images: { a: { image: 'reg/a', digest: `sha256:${'1'.repeat(64)}` }, b: { image: 'reg/b', digest: `sha256:${'2'.repeat(64)}` } },
    files: [],
    ...extra,
  } as unknown as ReleaseManifest;
  return { dir: '/nowhere', manifest, compose: readComposeView([{ name: 'docker-compose.yml', text: compose }]), verified: true };
}

describe('swarmDefinitionProblems', () => {
  it('accepts services without host-IP ports, network_mode or migrations', () => {
    expect(swarmDefinitionProblems(bundle('services:\n  a: { image: x, ports: ["8080:80", 9000] }\n  b: { image: y }\n'))).toEqual([]);
  });

  it('refuses a port on a host IP (short and long syntax), network_mode, an unpinned service and migrations, all at once', () => {
    const problems = swarmDefinitionProblems(
      bundle('services:\n  a:\n    ports: ["127.0.0.1:18083:8083", { target: 80, published: 8080, host_ip: 10.0.0.5 }]\n  b: { network_mode: host }\n  c: { image: z }\n', {
        files: [{ path: 'migrations/0001_init.sql', sha256: '0'.repeat(64), size: 1 }],
      }),
    );
    expect(problems).toEqual([
      'a (docker-compose.yml): port "127.0.0.1:18083:8083" is published on host IP 127.0.0.1, which the swarm ignores (its ingress mesh would publish it on every interface)',
      'a (docker-compose.yml): port 8080:80 is published on host_ip 10.0.0.5, which the swarm ignores (its ingress mesh would publish it on every interface)',
      'b (docker-compose.yml): network_mode "host" (swarm services join overlay networks only)',
      'c: the manifest pins no image for it',
      'it carries 1 database migration(s) (migrations/0001_init.sql): the swarm target does not run migrations',
    ]);
  });

  it('reads the host IP of the short port syntax', () => {
    expect(['127.0.0.1:80:80', '[::1]:80:80', '80:80', '80', '0.0.0.0:1:2'].map(hostIpOf)).toEqual(['127.0.0.1', '::1', undefined, undefined, '0.0.0.0']);
  });

  it('labels every service with the release id', () => {
    expect(releaseLabelFile(['a', 'b'], 'r1')).toBe('services:\n  "a":\n    labels:\n      titan.release: "r1"\n  "b":\n    labels:\n      titan.release: "r1"\n');
  });
});

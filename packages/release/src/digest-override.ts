import { stringify } from 'yaml';
import { pinnedImageReference } from './image-reference.js';
import type { ReleaseImage } from './manifest.js';

/**
 * docker-compose.digests.yml: the last `-f` file of a release. It overrides every service's image
 * with `<repository>@sha256:...`, so whatever tag the base file names, what runs is what was signed.
 */
export function renderDigestOverride(images: Readonly<Record<string, ReleaseImage>>): string {
  const services: Record<string, { image: string }> = {};
  for (const service of Object.keys(images).sort()) {
    const image = images[service];
    if (image !== undefined) services[service] = { image: pinnedImageReference(image.image, image.digest) };
  }
  const header = [
    '# Written by titan sign: pins every service to the image digest this release signed.',
    '# Apply it last: docker compose -f <the release compose files> -f docker-compose.digests.yml',
  ];
  return `${header.join('\n')}\n${stringify({ services }, { lineWidth: 0 })}`;
}

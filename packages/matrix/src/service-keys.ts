import type { Logger } from '@titan/log/logger';
import { computeBuildKey, memoisedContextReader } from './build-key.js';
import { imageRepository } from '@titan/release/image-reference';
import type { ServiceImage, ServicesFile } from '@titan/release/services-file';

export interface ServiceKey {
  spec: ServiceImage;
  /** `<registry>/<image>`. */
  repository: string;
  /** The build key (64 hex). */
  key: string;
}

/** The build key of every image in services.yml, in the file's order (shared contexts read once). */
export async function computeServiceKeys(
  services: ServicesFile,
  options: { registry: string; platform?: string; logger?: Logger },
): Promise<ServiceKey[]> {
  const readContext = memoisedContextReader();
  const keys: ServiceKey[] = [];
  for (const spec of services.images) {
    const repository = imageRepository(options.registry, spec.image);
    const key = await computeBuildKey(
      {
        repository,
        context: spec.context,
        dockerfile: spec.dockerfile,
        buildArgs: spec.buildArgs,
        ...(options.platform === undefined ? {} : { platform: options.platform }),
      },
      readContext,
    );
    options.logger?.debug(`${spec.service}: build key ${key}`);
    keys.push({ spec, repository, key });
  }
  return keys;
}

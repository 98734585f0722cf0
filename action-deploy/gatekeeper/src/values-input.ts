import { ConfigurationError } from '@titan/action-kit/configuration-error';
import { maskValues } from '@titan/action-kit/masking';
import { DisplayPaths } from '@titan/gatekeeper/display-path';
import { parseDotenv } from '@titan/gatekeeper/dotenv';
import { EnvFileError, readEnvFile } from '@titan/gatekeeper/env-file';
import type { ValuesSource } from '@titan/gatekeeper/production-values';
import { valuesToMask } from '@titan/gatekeeper/value-masking';
import type { GatekeeperSettings } from './settings.js';

/** The origin findings give the `values` input: it is not a file. */
export const VALUES_ORIGIN = 'input:values';

export interface ProductionValues {
  sources: ValuesSource[];
  /** Every value registered with the runner's masking: also redacted from outputs and the summary. */
  masked: string[];
}

/**
 * Reads the production values (env-file, then the values input, which wins) and registers every
 * value with the runner's masking before anything else runs, so no log line can show one.
 */
export async function readProductionValues(settings: GatekeeperSettings): Promise<ProductionValues> {
  const sources: ValuesSource[] = [];
  if (settings.envFile !== undefined) {
    const origin = new DisplayPaths(settings.workspace).of(settings.envFile);
    try {
      sources.push(await readEnvFile(settings.envFile, origin));
    } catch (error: unknown) {
      if (error instanceof EnvFileError) throw new ConfigurationError(`Input env-file: ${error.message}`, { input: 'env-file', cause: error });
      throw error;
    }
  }
  if (settings.values !== undefined) sources.push({ origin: VALUES_ORIGIN, parsed: parseDotenv(settings.values, VALUES_ORIGIN) });
  const masked = valuesToMask(
    sources.flatMap((s) => s.parsed.entries),
    settings.required,
  );
  maskValues(masked);
  return { sources, masked };
}

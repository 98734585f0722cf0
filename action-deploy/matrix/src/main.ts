import * as core from '@actions/core';
import { ConfigurationError } from '@titan/action-kit/configuration-error';
import { coreLogger } from '@titan/action-kit/core-logger';
import type { Logger } from '@titan/log/logger';
import { planBuilds } from '@titan/matrix/build-plan';
import { changedPathsSince } from '@titan/matrix/changed-paths';
import type { DigestCache } from '@titan/matrix/digest-cache';
import { readDigestsFolder } from '@titan/matrix/digests-folder';
import { DirectoryDigestCache } from '@titan/matrix/directory-digest-cache';
import { isMatrixInputError } from '@titan/matrix/matrix-input-error';
import { recordDigests } from '@titan/matrix/record-digests';
import { assessRisk, type RiskAssessment } from '@titan/matrix/risk';
import { parseStrategyMatrix } from '@titan/matrix/strategy-matrix';
import { ReleaseSourceError } from '@titan/release/release-source-error';
import { readServicesFile, type ServicesFile } from '@titan/release/services-file';
import { ActionsDigestCache } from './actions-digest-cache.js';
import { readSettings, type CacheSetting, type PlanSettings, type RecordSettings } from './settings.js';
import { planSummary, recordSummary } from './summary.js';

export async function run(logger: Logger = coreLogger): Promise<void> {
  try {
    const settings = readSettings();
    const services = await readServicesFile(settings.servicesFile);
    const registry = settings.registry ?? services.registry;
    if (registry === undefined) {
      throw new ConfigurationError(`Input required and not supplied: registry (${settings.servicesFile} names no registry)`, { input: 'registry' });
    }
    const cache = digestCache(settings.cache, logger);
    if (settings.mode === 'plan') await plan(settings, services, registry, cache, logger);
    else await record(settings, services, registry, cache, logger);
  } catch (error: unknown) {
    // The library's input mistakes are the caller's to fix: report them against their input.
    if (isMatrixInputError(error)) throw new ConfigurationError(error.message, { input: error.topic, cause: error });
    if (error instanceof ReleaseSourceError) throw new ConfigurationError(`Input services-file: ${error.message}`, { input: 'services-file', cause: error });
    throw error;
  }
}

async function plan(settings: PlanSettings, services: ServicesFile, registry: string, cache: DigestCache | undefined, logger: Logger): Promise<void> {
  if (cache === undefined) logger.warning('No digest cache (input cache is none, or this is not a GitHub Actions runner): every image is built');
  const planned = await logger.group('Build keys and reuse', () =>
    planBuilds({
      services,
      registry,
      sha: settings.sha,
      ref: settings.ref,
      defaultBranch: settings.defaultBranch,
      logger,
      ...(cache === undefined ? {} : { cache }),
      ...(settings.platform === undefined ? {} : { platform: settings.platform }),
    }),
  );
  const risk = await logger.group('Release risk', () => releaseRisk(settings, services, logger));
  core.setOutput('matrix', JSON.stringify(planned.matrix));
  core.setOutput('has-builds', planned.hasBuilds ? 'true' : 'false');
  core.setOutput('reused', JSON.stringify(planned.reused));
  core.setOutput('keys', JSON.stringify(planned.keys));
  core.setOutput('risk', risk.level);
  core.setOutput('risk-reasons', JSON.stringify(risk.reasons));
  logger.info(`${planned.matrix.include.length} image(s) to build, ${Object.keys(planned.reused).length} reused; risk ${risk.level}`);
  await planSummary(planned, risk, { cache: cache?.description ?? 'none', sha: settings.sha, ref: settings.ref }).write();
}

async function releaseRisk(settings: PlanSettings, services: ServicesFile, logger: Logger): Promise<RiskAssessment> {
  let risk: RiskAssessment;
  if (settings.since !== undefined) {
    const changed = await changedPathsSince({ dir: services.dir, since: settings.since, sha: settings.sha });
    logger.info(`${changed.paths.length} path(s) changed since ${settings.since}`);
    risk = await assessRisk({ services, repoRoot: changed.repoRoot, changedPaths: changed.paths, since: settings.since });
  } else {
    risk = await assessRisk({ services, repoRoot: process.cwd(), changedPaths: settings.changedFiles });
  }
  for (const reason of risk.reasons) logger.info(reason);
  return risk;
}

async function record(settings: RecordSettings, services: ServicesFile, registry: string, cache: DigestCache | undefined, logger: Logger): Promise<void> {
  if (cache === undefined) throw new ConfigurationError('record needs a digest cache: set the input cache', { input: 'cache' });
  const expected = settings.matrix === undefined ? undefined : parseStrategyMatrix(settings.matrix);
  const digests = await readDigestsFolder(settings.digests, services.images.map((i) => i.service));
  const recorded = await logger.group('Record digests', () =>
    recordDigests({
      services,
      registry,
      digests,
      cache,
      logger,
      ...(expected === undefined ? {} : { expected }),
      ...(settings.platform === undefined ? {} : { platform: settings.platform }),
    }),
  );
  core.setOutput('recorded', JSON.stringify(Object.fromEntries(recorded.map((r) => [r.service, r.digest]))));
  logger.info(`${recorded.length} digest(s) recorded in ${cache.description}`);
  await recordSummary(recorded, cache.description).write();
}

function digestCache(setting: CacheSetting, logger: Logger): DigestCache | undefined {
  switch (setting.kind) {
    case 'actions':
      return new ActionsDigestCache(logger);
    case 'directory':
      return new DirectoryDigestCache(setting.dir);
    case 'none':
      return undefined;
  }
}


import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from '@titan/log/logger';
import { ReleaseSourceError } from '@titan/release/release-source-error';
import { servicePortsOf } from '@titan/release/service-ports';
import { checkServicesFile, SERVICES_FILE } from '@titan/release/services-file';
import { checkCiStatus, ciSkippedFinding, type CiStatusInput } from './ci-status.js';
import { ComposeFileError, readComposeFile, type ComposeFile } from './compose-file.js';
import { mergeComposeFiles } from './compose-merge.js';
import { checkComposePolicy } from './compose-policy.js';
import { checkSecretReferences, composeDefaults, failFastVariables } from './compose-references.js';
import { DisplayPaths } from './display-path.js';
import { CHECK_TITLES, CHECKS, isBlocking, type CheckId, type Finding } from './finding.js';
import type { Place } from './located-yaml.js';
import { checkLockfiles } from './lockfiles.js';
import { checkMigrations } from './migrations.js';
import { checkPolicyFile } from './policy-file.js';
import type { PreviousManifest } from './previous-manifest.js';
import { checkProductionValues, type Posture, type ValuesSource } from './production-values.js';
import { resolveRequiredValues } from './required-values.js';
import { checkSecretFiles } from './secrets-check.js';
import { checkStackProfileFile } from './stack-check.js';

/**
 * The readiness gate: runs every check on a release source and says whether the deploy may start.
 * It never throws for what it finds (that is a finding); it throws ReleaseSourceError when the
 * source folder or its services.yml cannot be read, since then there is nothing to check. When
 * services.yml has problems (the release package's one reader, the same findings matrix and sign
 * report), they are the findings of the first check and the checks that need the file do not run.
 */
export interface GateOptions {
  /** The release source: the folder holding services.yml. */
  source: string;
  /** Files in findings are named relative to this folder (the workspace). Default: the current folder. */
  pathRoot?: string;
  /** Compose files to check instead of services.yml's release.compose, relative to `source`. */
  composeFiles?: readonly string[];
  /** The production values, lowest precedence first (env-file, then the values input). */
  values: readonly ValuesSource[];
  /** production (default) or staging: staging lets development defaults through as warnings (production-values.ts). */
  posture?: Posture;
  /**
   * The `required` input's lines, applied to services.yml's values.required (NAME replaces the set,
   * +NAME adds, -NAME removes; none: the release's set as it is).
   */
  required?: readonly string[];
  previousManifest?: PreviousManifest | undefined;
  /** How to read CI results; undefined skips the CI check with a warning (no token). */
  ci?: CiStatusInput | undefined;
  logger: Logger;
}

export type CheckStatus = 'passed' | 'failed' | 'warnings' | 'skipped';

export interface CheckResult {
  check: CheckId;
  title: string;
  status: CheckStatus;
  errors: number;
  warnings: number;
}

export interface GateReport {
  /** No finding of severity error. */
  ready: boolean;
  findings: Finding[];
  checks: CheckResult[];
}

export async function runGate(options: GateOptions): Promise<GateReport> {
  const { logger } = options;
  const paths = new DisplayPaths(options.pathRoot ?? process.cwd());
  const dir = resolve(options.source);
  if ((await stat(dir).catch(() => undefined))?.isDirectory() !== true) {
    throw new ReleaseSourceError(options.source, `is not a folder: point it at the release source (the folder holding ${SERVICES_FILE})`);
  }
  const servicesPath = join(dir, SERVICES_FILE);
  const checked = await checkServicesFile(servicesPath, paths.of(servicesPath));
  const findings: Finding[] = [];
  const skipped = new Set<CheckId>();

  await logger.group('CI status', async () => {
    if (options.ci === undefined) {
      skipped.add('ci');
      findings.push(ciSkippedFinding());
      return;
    }
    findings.push(...(await checkCiStatus({ ...options.ci, logger })));
  });

  const source = checked.file;
  await logger.group('Release source', () => {
    logger.info(`${paths.of(servicesPath)}: ${checked.problems.length} finding(s)`);
    findings.push(...checked.problems.map((p) => sourceFinding(paths.of(servicesPath), p.line, p.message)));
    return Promise.resolve();
  });
  if (source === undefined) {
    logger.warning(`${paths.of(servicesPath)} has problems: the checks that read it did not run`);
    for (const check of CHECKS) if (check !== 'ci' && check !== 'source') skipped.add(check);
    return { ready: false, findings, checks: summarizeChecks(findings, skipped) };
  }
  const required = resolveRequiredValues(options.required ?? [], source.values.required);

  const composePaths = (options.composeFiles ?? source.release.compose).map((f) => resolve(source.dir, f));
  const composeFiles: ComposeFile[] = [];
  const composeFindings: Finding[] = [];
  for (const path of composePaths) {
    try {
      composeFiles.push(await readComposeFile(path, paths.of(path)));
    } catch (error: unknown) {
      if (!(error instanceof ComposeFileError)) throw error;
      composeFindings.push({ check: 'compose', severity: 'error', file: error.file, line: error.line, message: error.message, fix: 'Fix the Compose file so that `docker compose config` accepts it' });
    }
  }

  // The secrets overlay first: the values its files hold are production values the next check checks.
  const envTemplate = source.release.envTemplate === undefined ? undefined : resolve(source.dir, source.release.envTemplate);
  const secrets = composeFindings.length === 0 ? await checkSecretFiles(composeFiles, envTemplate === undefined ? undefined : { path: envTemplate, file: paths.of(envTemplate) }) : undefined;
  const secretVariables = (secrets?.declared ?? []).flatMap((s) => (s.variable === undefined ? [] : [s.variable]));
  const checkedValues = [...new Set([...required, ...secretVariables])];

  const valueMap = new Map<string, string>();
  for (const s of options.values) for (const entry of s.parsed.entries) valueMap.set(entry.name, entry.value);

  await logger.group('Production values', () => {
    const valueFindings = checkProductionValues({
      sources: options.values,
      required: checkedValues,
      distinct: source.values.distinct,
      composeRequired: failFastVariables(composeFiles),
      composeDefaults: composeDefaults(composeFiles),
      posture: options.posture ?? 'production',
    });
    logger.info(`${checkedValues.length} required variable(s) (${secretVariables.length} held by secret files), ${valueMap.size} value(s) given, ${valueFindings.length} finding(s)`);
    if (options.posture === 'staging') {
      const allowed = valueFindings.filter((f) => f.severity === 'warning' && f.message.endsWith('the production gate refuses it')).length;
      logger.warning(
        `Staging posture: ${allowed} value(s) that the production gate refuses (development defaults, weak values) are let through as warnings. ` +
          'Never deploy these values, or this posture, to production.',
      );
    }
    findings.push(...valueFindings);
    return Promise.resolve();
  });

  await logger.group('Compose policy', () => {
    if (composeFindings.length === 0) {
      const merged = mergeComposeFiles(composeFiles, valueMap);
      const built = new Map<string, Place>(source.images.map((i) => [i.service, { file: paths.of(source.path), line: i.line }]));
      composeFindings.push(...checkComposePolicy({ merged, builtServices: built, values: valueMap }), ...checkSecretReferences(composeFiles, required));
      logger.info(`${composeFiles.map((f) => f.file).join(' + ')}: ${merged.services.size} service(s), ${composeFindings.length} finding(s)`);
    }
    findings.push(...composeFindings);
    return Promise.resolve();
  });

  await logger.group('Secret files', () => {
    if (secrets === undefined) {
      skipped.add('secrets');
      logger.info('not checked: a Compose file could not be read (see Compose policy)');
    } else {
      logger.info(`${secrets.declared.length} secret(s) the services read as files (${secrets.declared.map((s) => s.name).join(', ') || 'none'}): ${secrets.findings.length} finding(s)`);
      findings.push(...secrets.findings);
    }
    return Promise.resolve();
  });

  await logger.group('Stack profile', async () => {
    // Checked against the compose services when every compose file could be read, on its own otherwise.
    const compose =
      composeFiles.length === composePaths.length
        ? { services: [...new Set(composeFiles.flatMap((f) => [...(f.services?.entries.keys() ?? [])]))], ports: servicePortsOf(composeFiles.map((f) => f.document.document.toJS() as unknown)) }
        : undefined;
    const stackFile = `${source.dir}/stack.yml`;
    const stackFindings = await checkStackProfileFile(source.dir, paths.of(stackFile), compose);
    logger.info(`${paths.of(stackFile)}: ${stackFindings.length} finding(s)`);
    findings.push(...stackFindings);
  });

  await logger.group('Migrations', async () => {
    const migrationsDir = resolve(source.dir, source.release.migrations);
    const migrationFindings = await checkMigrations({ dir: migrationsDir, paths, previous: options.previousManifest });
    logger.info(`${paths.of(migrationsDir)}: ${migrationFindings.length} finding(s)${options.previousManifest === undefined ? ' (no previous manifest: released files not compared)' : ''}`);
    findings.push(...migrationFindings);
  });

  await logger.group('Policy file', async () => {
    const policyFile = resolve(source.dir, source.release.policy);
    const policyFindings = await checkPolicyFile(policyFile, paths.of(policyFile));
    logger.info(`${paths.of(policyFile)}: ${policyFindings.length} finding(s)`);
    findings.push(...policyFindings);
  });

  await logger.group('Lockfiles', async () => {
    const contexts = new Map<string, string[]>();
    for (const image of source.images) {
      contexts.set(image.context, [...(contexts.get(image.context) ?? []), image.service]);
    }
    const { findings: lockFindings, nodeServices } = await checkLockfiles([...contexts].map(([dir, services]) => ({ dir, services })), paths);
    logger.info(`${contexts.size} build context(s), ${nodeServices} of them Node services (a package.json): ${lockFindings.length} finding(s)`);
    findings.push(...lockFindings);
  });

  return { ready: !findings.some(isBlocking), findings, checks: summarizeChecks(findings, skipped) };
}

export function summarizeChecks(findings: readonly Finding[], skipped: ReadonlySet<CheckId> = new Set()): CheckResult[] {
  return CHECKS.map((check) => {
    const own = findings.filter((f) => f.check === check);
    const errors = own.filter((f) => f.severity === 'error').length;
    const warnings = own.length - errors;
    const status: CheckStatus = skipped.has(check) ? 'skipped' : errors > 0 ? 'failed' : warnings > 0 ? 'warnings' : 'passed';
    return { check, title: CHECK_TITLES[check], status, errors, warnings };
  });
}

function sourceFinding(file: string, line: number, message: string): Finding {
  return { check: 'source', severity: 'error', file, line, message, fix: `Correct ${SERVICES_FILE} (examples/titan/${SERVICES_FILE} shows every key): matrix and sign refuse it alike` };
}

/**
 * One leg of a job (the job itself when it has no matrix), as GitHub runs it: the concurrency group
 * taken, the environment's required review, the GITHUB_TOKEN issued with the job's permissions, the
 * environment's secrets and variables, GitHub's automatic deployment for `environment:` (none with
 * `deployment: false`), then every step in order with `if:` decided from the job's status so far,
 * and the job's outputs evaluated from its steps.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { data } from '@actions/expressions';
import type { Job, WorkflowJob } from '@actions/workflow-parser/model/workflow-template';
import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/template-token';
import { isMapping } from '@actions/workflow-parser';
import { ConcurrencyCancelled, type QueueMode } from './concurrency.js';
import { Masks } from './masks.js';
import { evaluate, isTruthy, messageOf, type PlainValue, StrictDictionary, strictDictionary, toExpressionData, WorkflowChainError } from './expressions.js';
import type { WorkflowScope } from './job-runner.js';
import type { MatrixLeg } from './matrix-legs.js';
import { capPermissions, DEFAULT_PERMISSIONS, parsePermissions } from './permissions.js';
import type { LegRecord, RunState, StepRecord } from './run-model.js';
import { type LegScope, runStep } from './step-runner.js';
import { literal, tokenString, tokenStringMap, tokenValue } from './template-values.js';
import { jobToken, stepToken } from './workflow-file.js';

export interface LegInfo {
  readonly name: string;
  readonly jobId: string;
  readonly matrix: MatrixLeg;
  readonly strategy: Record<string, PlainValue>;
  readonly needs: data.Dictionary;
  readonly log: (line: string) => void;
}

export async function runLeg(state: RunState, scope: WorkflowScope, job: WorkflowJob, info: LegInfo): Promise<LegRecord> {
  if (job.type !== 'job') throw new Error(`${info.jobId}: not a job with steps`);
  const raw = jobToken(scope.file, job.id.value);
  const record: LegRecord = { name: info.name, matrix: info.matrix, result: 'failure', steps: [], log: [], summary: '', outputs: {} };
  const log = (line: string): void => {
    record.log.push(line);
    info.log(info.name === info.jobId ? line : `(${info.name}) ${line}`);
  };
  const dir = join(state.dir, 'jobs', info.name.replace(/[^A-Za-z0-9._-]+/g, '_'));
  const workspace = join(dir, 'workspace');
  const temp = join(dir, 'temp');
  await mkdir(workspace, { recursive: true });
  await mkdir(temp, { recursive: true });
  const base: Record<string, data.ExpressionData> = {
    github: state.github(job.id.value, '', workspace),
    inputs: scope.inputs,
    vars: toExpressionData({ ...(state.options.vars ?? {}) }),
    needs: info.needs,
    matrix: strictDictionary('matrix', info.matrix),
    strategy: toExpressionData(info.strategy),
  };
  const releases: (() => void)[] = [];
  const masks = new Masks(state.masks);
  let deployment: ReturnType<RunState['options']['api']['createWorkflowDeployment']> | undefined;
  try {
    const environment = readEnvironment(raw.find('environment'), { contexts: base });
    const concurrency = readConcurrency(job.concurrency, { contexts: base });
    if (concurrency !== undefined) {
      log(`concurrency group ${concurrency.group} (cancel-in-progress ${String(concurrency.cancelInProgress)}, queue ${concurrency.queue})`);
      releases.push(
        await (state.options.concurrency?.acquire({ ...concurrency, holder: `run ${state.runId} ${info.name}`, cancel: () => state.controller.abort() }) ?? Promise.resolve(() => undefined)),
      );
    }
    const settings = environment === undefined ? undefined : state.options.environments?.[environment.name];
    if (environment !== undefined) {
      if (settings?.reviewers === true) {
        const request = { runId: state.runId, environment: environment.name, job: info.name };
        state.approvals.push(request);
        log(`waiting for a review of the deployment to ${environment.name}`);
        const approved = state.options.approve === undefined ? true : await state.options.approve(request);
        if (!approved) throw new Error(`the deployment to ${environment.name} was rejected by its reviewer`);
        log(`${environment.name}: approved`);
      }
      record.environment = { name: environment.name, url: '', deployment: environment.deployment };
    }
    const permissions = capPermissions(
      parsePermissions(tokenOrUndefined(raw.find('permissions'), base), `job ${info.jobId}`) ??
        parsePermissions(tokenOrUndefined(scope.file.root.find('permissions'), base), scope.file.name) ??
        DEFAULT_PERMISSIONS,
      scope.permissionsCap,
    );
    record.permissions = permissions;
    const token = state.options.api.issueToken(permissions, String(state.runId));
    const secretValues = { ...scope.secrets, ...(settings?.secrets ?? {}), GITHUB_TOKEN: token };
    for (const value of Object.values(secretValues)) masks.add(value);
    const contexts: Record<string, data.ExpressionData> = {
      ...base,
      github: state.github(job.id.value, token, workspace),
      vars: toExpressionData({ ...(state.options.vars ?? {}), ...(settings?.vars ?? {}) }),
      secrets: toExpressionData(secretValues),
      runner: toExpressionData({ os: 'Linux', arch: 'X64', name: 'local', temp, tool_cache: join(state.dir, 'tool-cache'), environment: 'self-hosted' }),
      job: toExpressionData({ status: 'success' }),
    };
    if (environment?.deployment === true) {
      deployment = state.options.api.createWorkflowDeployment({ environment: environment.name, ref: state.sha, runId: String(state.runId) });
      log(`GitHub deployment ${deployment.id} (${environment.name}) created for the job`);
    }
    const env: Record<string, string> = {
      ...tokenStringMap(scope.file.root.find('env'), { contexts }),
      ...tokenStringMap(raw.find('env'), { contexts }),
    };
    const timeoutToken = raw.find('timeout-minutes');
    const minutes = timeoutToken === undefined ? undefined : tokenValue(timeoutToken, { contexts });
    const timeoutAt = Date.now() + (typeof minutes === 'number' ? minutes : 360) * 60_000;
    const stepsContext = new StrictDictionary(`steps (of job ${info.jobId})`, job.steps.map((s, i) => literal(stepToken(scope.file, job.id.value, i).find('id'))).filter((s): s is string => s !== undefined));
    const legScope: LegScope = {
      state,
      masks,
      job: info.name,
      workspace,
      temp,
      env,
      path: [],
      status: state.controller.signal.aborted ? 'cancelled' : 'success',
      log,
      timeoutAt,
      contexts: () => ({ ...contexts, steps: stepsContext, env: toExpressionData({ ...env }), job: toExpressionData({ status: legScope.status }) }),
    };
    for (const [index, step] of job.steps.entries()) {
      if (state.controller.signal.aborted) legScope.status = 'cancelled';
      const rawStep = stepToken(scope.file, job.id.value, index);
      const id = literal(rawStep.find('id'));
      const name = step.name === undefined ? ('uses' in step ? step.uses.value : 'run') : tokenString(step.name, { contexts: legScope.contexts() });
      const ifExpression = 'if' in step && step.if !== undefined ? step.if.expression : 'success()';
      let run: boolean;
      try {
        run = isTruthy(evaluate(ifExpression, { contexts: legScope.contexts(), status: legScope.status }));
      } catch (error: unknown) {
        if (error instanceof WorkflowChainError) state.chainErrors.push(`${info.name}, step ${name}: ${error.message}`);
        log(`error: ${name}: ${messageOf(error)}`);
        legScope.status = 'failure';
        record.steps.push({ id: id ?? '', name, outcome: 'failure', conclusion: 'failure', outputs: {}, log: [], error: messageOf(error) });
        continue;
      }
      if (!run) {
        log(`○ ${name} (skipped: ${ifExpression})`);
        const skipped: StepRecord = { id: id ?? '', name, outcome: 'skipped', conclusion: 'skipped', outputs: {}, log: [] };
        record.steps.push(skipped);
        if (id !== undefined) stepsContext.add(id, toExpressionData({ outcome: 'skipped', conclusion: 'skipped', outputs: {} }));
        continue;
      }
      log(`▶ ${name}`);
      state.options.onStep?.({ runId: state.runId, job: info.name, step: name });
      const before = record.log.length;
      const result = await runStep(legScope, step, rawStep, index);
      const continueOnError = 'continue-on-error' in step && (step['continue-on-error'] === true || (typeof step['continue-on-error'] === 'object' && isTruthy(evaluate(String(step['continue-on-error']), { contexts: legScope.contexts() }))));
      const outcome = result.ok ? 'success' : result.process?.cancelled === true ? 'cancelled' : 'failure';
      const conclusion = outcome === 'failure' && continueOnError ? 'success' : outcome;
      record.steps.push({
        id: id ?? '',
        name,
        outcome,
        conclusion,
        outputs: result.outputs,
        log: record.log.slice(before),
        ...(result.process !== undefined ? { process: result.process } : {}),
        ...(result.error !== undefined ? { error: result.error } : {}),
      });
      record.summary += result.summary;
      if (id !== undefined) {
        const declared = result.declared ?? (result.ok ? Object.keys(result.outputs) : undefined);
        const outputs = declared === undefined ? toExpressionData(result.outputs) : strictDictionary(`steps.${id}.outputs`, result.outputs, declared);
        const entry = new data.Dictionary();
        entry.add('outcome', new data.StringData(outcome));
        entry.add('conclusion', new data.StringData(conclusion));
        entry.add('outputs', outputs);
        stepsContext.add(id, entry);
      }
      if (conclusion === 'failure') legScope.status = 'failure';
      if (conclusion === 'cancelled') legScope.status = 'cancelled';
    }
    record.result = legScope.status === 'success' ? 'success' : legScope.status === 'cancelled' ? 'cancelled' : 'failure';
    try {
      record.outputs = tokenStringMap(raw.find('outputs'), { contexts: legScope.contexts(), status: legScope.status });
    } catch (error: unknown) {
      if (error instanceof WorkflowChainError) state.chainErrors.push(`${info.name}, outputs: ${error.message}`);
      log(`error: the job's outputs: ${messageOf(error)}`);
      record.result = 'failure';
    }
    if (record.environment !== undefined && environment?.url !== undefined) {
      record.environment.url = tokenString(environment.url, { contexts: legScope.contexts() });
    }
  } catch (error: unknown) {
    if (error instanceof WorkflowChainError) state.chainErrors.push(`${info.name}: ${error.message}`);
    record.result = error instanceof ConcurrencyCancelled ? 'cancelled' : 'failure';
    log(`error: ${messageOf(error)}`);
  } finally {
    for (const release of releases) release();
    if (deployment !== undefined) state.options.api.addStatus(deployment, record.result === 'success' ? 'success' : 'failure');
  }
  return record;
}

function tokenOrUndefined(token: TemplateToken | undefined, contexts: Record<string, data.ExpressionData>): PlainValue | undefined {
  return token === undefined ? undefined : tokenValue(token, { contexts });
}

interface EnvironmentRef {
  name: string;
  url: TemplateToken | undefined;
  deployment: boolean;
}

function readEnvironment(token: TemplateToken | undefined, scope: { contexts: Record<string, data.ExpressionData> }): EnvironmentRef | undefined {
  if (token === undefined) return undefined;
  if (isMapping(token)) {
    const name = token.find('name');
    const deployment = token.find('deployment');
    if (name === undefined) throw new Error('environment: name is required');
    return { name: tokenString(name, scope), url: token.find('url'), deployment: deployment === undefined ? true : isTruthy(toExpressionData(tokenValue(deployment, scope))) };
  }
  return { name: tokenString(token, scope), url: undefined, deployment: true };
}

function readConcurrency(
  token: TemplateToken | undefined,
  scope: { contexts: Record<string, data.ExpressionData> },
): { group: string; cancelInProgress: boolean; queue: QueueMode } | undefined {
  if (token === undefined) return undefined;
  const value = tokenValue(token, scope);
  if (typeof value === 'string') return { group: value, cancelInProgress: false, queue: 'single' };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('concurrency must be a group name or a mapping');
  const queue = value['queue'] ?? 'single';
  if (queue !== 'single' && queue !== 'max') throw new Error(`concurrency.queue must be single or max, got ${JSON.stringify(queue)}`);
  if (queue === 'max' && value['cancel-in-progress'] === true) throw new Error('concurrency: queue max needs cancel-in-progress false');
  return { group: typeof value['group'] === 'string' ? value['group'] : JSON.stringify(value['group']), cancelInProgress: value['cancel-in-progress'] === true, queue };
}

export type { Job };

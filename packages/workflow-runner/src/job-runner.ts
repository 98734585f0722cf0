/**
 * The jobs of one workflow (the one dispatched, or one called by a job), run in dependency order:
 * each job's `if:` decided from its needs as GitHub decides it (a failed, cancelled or skipped
 * ancestor makes `success()` false), its matrix expanded, its legs run one after another, its
 * outputs merged; a called workflow's jobs are run in place of the calling job.
 */
import { data } from '@actions/expressions';
import { isMapping } from '@actions/workflow-parser';
import type { WorkflowJob } from '@actions/workflow-parser/model/workflow-template';
import { evaluate, isTruthy, messageOf, type StatusState, strictDictionary, StrictDictionary, toExpressionData, WorkflowChainError } from './expressions.js';
import type { Permissions } from './github-api.js';
import { runLeg } from './leg-runner.js';
import { expandStrategy, legName } from './matrix-legs.js';
import type { JobRecord, RunState } from './run-model.js';
import { tokenString, tokenValue } from './template-values.js';
import { runCalledWorkflow } from './workflow-call.js';
import { jobToken, type WorkflowFile } from './workflow-file.js';

/** What the jobs of one workflow file see: its inputs, secrets and the caller's limits. */
export interface WorkflowScope {
  readonly file: WorkflowFile;
  /** Prefix of job ids (`deploy/` for the jobs a job `deploy` called). */
  readonly prefix: string;
  readonly inputs: data.Dictionary;
  readonly secrets: Readonly<Record<string, string>>;
  readonly permissionsCap: Permissions | undefined;
}

export async function runJobs(state: RunState, scope: WorkflowScope): Promise<Record<string, JobRecord>> {
  const done: Record<string, JobRecord> = {};
  const pending = [...scope.file.template.jobs];
  while (pending.length > 0) {
    const index = pending.findIndex((job) => (job.needs ?? []).every((n) => done[n.value] !== undefined));
    if (index === -1) throw new Error(`${scope.file.name}: the jobs' needs form a cycle or name missing jobs (${pending.map((j) => j.id.value).join(', ')})`);
    const [job] = pending.splice(index, 1);
    if (job === undefined) break;
    const record = await runJob(state, scope, job, done);
    done[job.id.value] = record;
    state.jobs[record.id] = record;
  }
  return done;
}

function ancestorStatus(job: WorkflowJob, all: readonly WorkflowJob[], done: Record<string, JobRecord>, state: RunState): StatusState {
  const seen = new Set<string>();
  const stack = (job.needs ?? []).map((n) => n.value);
  let status: StatusState = state.controller.signal.aborted ? 'cancelled' : 'success';
  while (stack.length > 0) {
    const id = stack.pop() ?? '';
    if (seen.has(id)) continue;
    seen.add(id);
    const result = done[id]?.result;
    if (result === 'failure') return 'failure';
    if (result === 'cancelled' && status === 'success') status = 'cancelled';
    if (result === 'skipped' && status === 'success') status = 'skipped';
    for (const n of all.find((j) => j.id.value === id)?.needs ?? []) stack.push(n.value);
  }
  return status;
}

/** `needs.<id>.result` and `.outputs`; reading an output the job does not declare breaks the chain. */
export function needsContext(job: WorkflowJob, jobs: readonly WorkflowJob[], done: Record<string, JobRecord>, file: WorkflowFile): StrictDictionary {
  const needs = new StrictDictionary(`needs (of job ${job.id.value})`);
  for (const need of job.needs ?? []) {
    const id = need.value;
    const record = done[id];
    const declared = record?.declaredOutputs ?? declaredOutputs(jobs.find((j) => j.id.value === id), file);
    const entry = new data.Dictionary();
    entry.add('result', new data.StringData(record?.result ?? 'skipped'));
    entry.add('outputs', strictDictionary(`needs.${id}.outputs`, record?.outputs ?? {}, declared));
    needs.add(id, entry);
  }
  return needs;
}

/** The outputs a job declares (a called workflow's job: its record says, once it ran or was skipped). */
export function declaredOutputs(job: WorkflowJob | undefined, file: WorkflowFile): string[] {
  if (job === undefined || job.type === 'reusableWorkflowJob') return [];
  const raw = jobToken(file, job.id.value).find('outputs');
  return raw !== undefined && isMapping(raw) ? [...raw].map((pair) => pair.key.toString()) : [];
}

async function runJob(state: RunState, scope: WorkflowScope, job: WorkflowJob, done: Record<string, JobRecord>): Promise<JobRecord> {
  const id = `${scope.prefix}${job.id.value}`;
  const all = scope.file.template.jobs;
  const record: JobRecord = { id, result: 'skipped', outputs: {}, legs: [], declaredOutputs: declaredOutputs(job, scope.file) };
  const log = (line: string): void => {
    state.log.push(`[${id}] ${line}`);
    state.options.onLog?.(`[run ${state.runId} ${id}] ${line}`);
  };
  try {
    const status = ancestorStatus(job, all, done, state);
    const contexts = {
      github: state.github(job.id.value, '', ''),
      inputs: scope.inputs,
      vars: toExpressionData({ ...(state.options.vars ?? {}) }),
      needs: needsContext(job, all, done, scope.file),
    };
    const condition = job.if.expression;
    if (!isTruthy(evaluate(condition, { contexts, status }))) {
      log(`skipped (if: ${condition})`);
      return record;
    }
    const concluded = state.request.concluded?.[id];
    if (concluded !== undefined) {
      // A job the test does not run here (release.yml's `test`: the whole suite, which the test is part of).
      log(`not run by the local runner: concluded ${concluded} by the run's request`);
      record.result = concluded;
      return record;
    }
    if (job.type === 'reusableWorkflowJob') {
      await runCalledWorkflow(state, scope, job, contexts, record, log);
      return record;
    }
    const strategyToken = jobToken(scope.file, job.id.value).find('strategy');
    const strategy = expandStrategy(strategyToken === undefined ? undefined : tokenValue(strategyToken, { contexts }), job.id.value);
    const legs = strategy?.legs ?? [{}];
    const nameUsesMatrix = job.name !== undefined && /\bmatrix\b/.test(job.name.toString());
    let failed = false;
    let cancelled = false;
    for (const [i, leg] of legs.entries()) {
      if ((failed && strategy?.failFast !== false) || state.controller.signal.aborted) {
        cancelled = true;
        continue;
      }
      const legContexts = { ...contexts, matrix: toExpressionData(leg) };
      const name = job.name === undefined ? job.id.value : tokenString(job.name, { contexts: legContexts });
      const legRecord = await runLeg(state, scope, job, {
        name: `${scope.prefix}${nameUsesMatrix ? name : legName(name, leg, strategyToken !== undefined)}`,
        jobId: id,
        matrix: leg,
        strategy: { 'fail-fast': strategy?.failFast ?? true, 'job-index': i, 'job-total': legs.length, 'max-parallel': strategy?.maxParallel ?? legs.length },
        needs: contexts.needs,
        log,
      });
      record.legs.push(legRecord);
      for (const [k, v] of Object.entries(legRecord.outputs)) if (v !== '' || record.outputs[k] === undefined) record.outputs[k] = v;
      if (legRecord.result === 'failure') failed = true;
      if (legRecord.result === 'cancelled') cancelled = true;
    }
    record.result = failed ? 'failure' : cancelled ? 'cancelled' : 'success';
  } catch (error: unknown) {
    if (error instanceof WorkflowChainError) state.chainErrors.push(`${id}: ${error.message}`);
    record.error = messageOf(error);
    record.result = 'failure';
    log(`error: ${record.error}`);
  }
  log(`job ${record.result}`);
  return record;
}

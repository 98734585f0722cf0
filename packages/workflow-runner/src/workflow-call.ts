/**
 * A job that calls a reusable workflow (`uses: ./.github/workflows/deploy.yml` or
 * `titan/actions/.github/workflows/deploy.yml@v1`): the called file read and parsed, its typed
 * inputs checked, the secrets passed (`secrets: inherit` or one by one, each declared by the called
 * workflow), its jobs run in the caller's run (same artifacts, same repository checked out) with no
 * more permissions than the calling job, and its `on.workflow_call.outputs` evaluated from its jobs.
 */
import { join, resolve } from 'node:path';
import { data } from '@actions/expressions';
import { isMapping } from '@actions/workflow-parser';
import type { ReusableWorkflowJob } from '@actions/workflow-parser/model/workflow-template';
import { type PlainValue, strictDictionary, StrictDictionary, WorkflowChainError } from './expressions.js';
import { type WorkflowScope, runJobs } from './job-runner.js';
import { capPermissions, DEFAULT_PERMISSIONS, parsePermissions } from './permissions.js';
import type { JobRecord, RunState } from './run-model.js';
import { tokenString, tokenValue } from './template-values.js';
import { workflowInputs } from './workflow-inputs.js';
import { jobToken, readWorkflowFile, type WorkflowFile } from './workflow-file.js';

export async function calledWorkflowFile(state: RunState, scope: WorkflowScope, ref: string): Promise<WorkflowFile> {
  if (ref.startsWith('./')) return readWorkflowFile(resolve(state.options.repository.root, ref));
  const match = /^([^/]+\/[^/]+)\/(\.github\/workflows\/[^@]+)@(.+)$/.exec(ref);
  const repository = match?.[1] === undefined ? undefined : state.options.actionRepositories?.[match[1]];
  if (match === null || repository === undefined) throw new Error(`${scope.file.name}: the called workflow ${ref} is in no repository this run knows`);
  if (!repository.refs.includes(match[3] ?? '')) throw new Error(`${ref}: ${match[1]}@${match[3] ?? ''} is not a ref this working tree stands for (${repository.refs.join(', ')})`);
  return readWorkflowFile(join(repository.root, match[2] ?? ''));
}

export async function runCalledWorkflow(
  state: RunState,
  scope: WorkflowScope,
  job: ReusableWorkflowJob,
  contexts: Record<string, data.ExpressionData>,
  record: JobRecord,
  log: (line: string) => void,
): Promise<JobRecord> {
  const file = await calledWorkflowFile(state, scope, job.ref.value);
  const call = file.template.events.workflow_call;
  if (call === undefined) throw new WorkflowChainError(`${job.ref.value} has no workflow_call trigger: it cannot be called`);
  const outputsToken = callOutputs(file);
  record.declaredOutputs = outputsToken === undefined ? [] : [...outputsToken].map((p) => p.key.toString());
  const secretsContext = plainDictionary(scope.secrets);
  const evalScope = { contexts: { ...contexts, secrets: secretsContext } };
  const given: Record<string, PlainValue> = {};
  for (const pair of job['input-values'] ?? []) given[pair.key.toString()] = tokenValue(pair.value, evalScope);
  const inputs = workflowInputs(call.inputs, given, `${scope.prefix}${job.id.value} (calling ${job.ref.value})`);
  const declaredSecrets = Object.keys(call.secrets ?? {});
  let secrets: Record<string, string>;
  if (job['inherit-secrets'] === true) {
    secrets = { ...scope.secrets };
  } else {
    secrets = {};
    for (const pair of job['secret-values'] ?? []) {
      const name = pair.key.toString();
      if (!declaredSecrets.includes(name)) throw new WorkflowChainError(`${job.ref.value}: Invalid secret, ${name} is not defined in the referenced workflow`);
      secrets[name] = tokenString(pair.value, evalScope);
    }
  }
  for (const [name, def] of Object.entries(call.secrets ?? {})) {
    if (def.required === true && (secrets[name] ?? '') === '') throw new WorkflowChainError(`${job.ref.value}: Secret ${name} is required, but not provided while calling.`);
  }
  const callerRaw = jobToken(scope.file, job.id.value);
  const permissionsToken = callerRaw.find('permissions') ?? scope.file.root.find('permissions');
  const cap = capPermissions(parsePermissions(permissionsToken === undefined ? undefined : tokenValue(permissionsToken, { contexts }), `job ${job.id.value}`) ?? DEFAULT_PERMISSIONS, scope.permissionsCap);
  log(`calls ${job.ref.value}`);
  const jobs = await runJobs(state, { file, prefix: `${scope.prefix}${job.id.value}/`, inputs, secrets, permissionsCap: cap });
  const results = Object.values(jobs).map((j) => j.result);
  record.result = results.includes('failure') ? 'failure' : results.includes('cancelled') ? 'cancelled' : 'success';
  const jobsContext = new StrictDictionary(`jobs (of ${file.name})`);
  for (const [id, each] of Object.entries(jobs)) {
    const entry = new data.Dictionary();
    entry.add('result', new data.StringData(each.result));
    entry.add('outputs', strictDictionary(`jobs.${id}.outputs`, each.outputs, each.declaredOutputs));
    jobsContext.add(id, entry);
  }
  for (const pair of outputsToken ?? []) {
    const name = pair.key.toString();
    const value = isMapping(pair.value) ? pair.value.find('value') : undefined;
    if (value !== undefined) record.outputs[name] = tokenString(value, { contexts: { jobs: jobsContext } });
  }
  log(`called workflow ${record.result}`);
  return record;
}

/** `on.workflow_call.outputs` of a workflow file, as tokens. */
export function callOutputs(file: WorkflowFile): import('@actions/workflow-parser/templates/tokens/mapping-token').MappingToken | undefined {
  const on = file.root.find('on');
  const call = on !== undefined && isMapping(on) ? on.find('workflow_call') : undefined;
  const outputs = call !== undefined && isMapping(call) ? call.find('outputs') : undefined;
  return outputs !== undefined && isMapping(outputs) ? outputs : undefined;
}

function plainDictionary(values: Readonly<Record<string, string>>): data.Dictionary {
  const dictionary = new data.Dictionary();
  for (const [k, v] of Object.entries(values)) dictionary.add(k, new data.StringData(v));
  return dictionary;
}

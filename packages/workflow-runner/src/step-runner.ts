/**
 * One step of a job, as the runner runs it: `run:` scripts under `bash --noprofile --norc -eo
 * pipefail`, `uses:` actions by their action.yml (`runs.using: node24` under the Node 24 binary,
 * inputs as INPUT_* with action.yml's defaults, expressions in them evaluated), stand-ins for the
 * third-party actions. Every step gets fresh GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH and
 * GITHUB_STEP_SUMMARY files, read back afterwards.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { data } from '@actions/expressions';
import type { Step } from '@actions/workflow-parser/model/workflow-template';
import type { MappingToken } from '@actions/workflow-parser/templates/tokens/mapping-token';
import { NODE24 } from '@titan/test-host/action-run';
import { resolveUses, type ResolvedAction } from './action-resolution.js';
import { artifactsOfRun } from './artifact-store.js';
import { messageOf, type StatusState, WorkflowChainError } from './expressions.js';
import { createStepFiles, readStepFiles } from './runner-files.js';
import type { Masks } from './masks.js';
import type { RunState } from './run-model.js';
import { StepFailure } from './stand-in.js';
import { runStepProcess, type StepProcessResult } from './step-process.js';
import { literal, tokenString, tokenStringMap } from './template-values.js';

export interface LegScope {
  readonly state: RunState;
  /** The job's masks: the run's secrets and what its steps registered. */
  readonly masks: Masks;
  readonly job: string;
  readonly workspace: string;
  readonly temp: string;
  /** The contexts expressions see now (steps and env included). */
  contexts(): Record<string, data.ExpressionData>;
  readonly env: Record<string, string>;
  readonly path: string[];
  status: StatusState;
  log(line: string): void;
  readonly timeoutAt: number;
}

export interface StepRun {
  readonly outputs: Record<string, string>;
  /** Output names a later step may read (action.yml's outputs), or undefined for a run step. */
  readonly declared: readonly string[] | undefined;
  readonly ok: boolean;
  readonly summary: string;
  readonly process?: StepProcessResult;
  readonly error?: string;
}

/** The environment every process of the job gets: the machine's, less a runner's own variables, plus the runner's. */
export function processEnvironment(scope: LegScope, step: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(INPUT_|GITHUB_|ACTIONS_|RUNNER_)/.test(k)) env[k] = v;
  }
  const github = scope.state;
  Object.assign(env, {
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: scope.workspace,
    GITHUB_REPOSITORY: github.options.repository.name,
    GITHUB_REPOSITORY_OWNER: github.options.repository.name.split('/')[0] ?? '',
    GITHUB_SHA: github.sha,
    GITHUB_REF: github.ref,
    GITHUB_REF_NAME: github.ref.replace(/^refs\/(heads|tags)\//, ''),
    GITHUB_RUN_ID: String(github.runId),
    GITHUB_RUN_NUMBER: String(github.runId),
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: github.options.api.url,
    GITHUB_ACTOR: github.request.actor ?? 'titan-operator',
    GITHUB_TRIGGERING_ACTOR: github.request.actor ?? 'titan-operator',
    GITHUB_EVENT_NAME: github.request.event,
    GITHUB_EVENT_PATH: join(github.dir, 'event.json'),
    GITHUB_JOB: scope.job.split('/').pop() ?? scope.job,
    GITHUB_WORKFLOW: github.request.workflow,
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    RUNNER_NAME: 'local',
    RUNNER_TEMP: scope.temp,
    RUNNER_TOOL_CACHE: join(github.dir, 'tool-cache'),
  });
  if (scope.path.length > 0) env['PATH'] = [...scope.path].reverse().join(':') + ':' + (env['PATH'] ?? '');
  return { ...env, ...scope.env, ...step };
}

export async function runStep(scope: LegScope, step: Step, raw: MappingToken, index: number): Promise<StepRun> {
  const dir = join(scope.temp, '_steps', String(index));
  const files = await createStepFiles(dir);
  const evalScope = { contexts: scope.contexts(), status: scope.status };
  const stepEnv = tokenStringMap(raw.find('env'), evalScope);
  const env = {
    ...processEnvironment(scope, stepEnv),
    GITHUB_OUTPUT: files.output,
    GITHUB_ENV: files.env,
    GITHUB_PATH: files.path,
    GITHUB_STEP_SUMMARY: files.summary,
  };
  const timeoutMs = Math.max(1, scope.timeoutAt - Date.now());
  let processResult: StepProcessResult | undefined;
  let declared: readonly string[] | undefined;
  let standInOutputs: Record<string, string> = {};
  let error: string | undefined;
  const onLine = (line: string): void => scope.log(line);
  try {
    if ('run' in step) {
      const script = tokenString(raw.find('run') ?? raw, evalScope);
      const shell = literal(raw.find('shell')) ?? 'bash';
      const file = join(dir, 'script.sh');
      await writeFile(file, script);
      const [command, ...args] = shell === 'bash' ? ['bash', '--noprofile', '--norc', '-eo', 'pipefail', file] : shell === 'sh' ? ['sh', '-e', file] : [];
      if (command === undefined) throw new StepFailure(`shell ${shell}: the local runner runs bash and sh steps only`);
      const cwd = resolve(scope.workspace, literal(raw.find('working-directory')) ?? '.');
      processResult = await runStepProcess({ command, args, cwd, env, masks: scope.masks, onLine, signal: scope.state.controller.signal, timeoutMs });
    } else if ('uses' in step) {
      const uses = step.uses.value;
      const resolved = await resolveUses(uses, scope.workspace, scope.state.options);
      const given = tokenStringMap(raw.find('with'), evalScope);
      if (resolved.kind === 'stand-in') {
        const unknown = Object.keys(given).filter((k) => !resolved.standIn.inputs.includes(k));
        if (unknown.length > 0) throw new StepFailure(`${uses}: the local stand-in does not implement input(s) ${unknown.join(', ')} (it implements ${resolved.standIn.inputs.join(', ')})`);
        declared = resolved.standIn.outputs;
        standInOutputs = await resolved.standIn.run({
          inputs: given,
          workspace: scope.workspace,
          repository: { root: scope.state.options.repository.root, name: scope.state.options.repository.name, sha: scope.state.sha, ref: scope.state.ref },
          artifacts: scope.state.artifacts,
          runArtifacts: (runId) => artifactsOfRun(scope.state.options.scratch, runId),
          api: scope.state.options.api,
          log: (line) => onLine(scope.masks.apply(line)),
          env,
          signal: scope.state.controller.signal,
        });
      } else {
        declared = (resolved.metadata.template.outputs ?? []).map((o) => o.id);
        processResult = await runAction(scope, resolved, given, env, timeoutMs);
      }
    } else {
      throw new StepFailure('the local runner runs run: and uses: steps only');
    }
  } catch (caught: unknown) {
    if (caught instanceof WorkflowChainError) {
      scope.state.chainErrors.push(`${scope.job}, step ${step.name?.toString() ?? step.id}: ${caught.message}`);
    }
    error = messageOf(caught);
    onLine(`error: ${error}`);
  }
  const read = await readStepFiles(files);
  Object.assign(scope.env, read.env);
  scope.path.push(...read.path);
  const ok = error === undefined && (processResult === undefined || processResult.status === 0);
  if (processResult !== undefined && processResult.status !== 0 && error === undefined) {
    onLine(processResult.cancelled ? 'The operation was canceled.' : `Process completed with exit code ${processResult.status ?? processResult.signal ?? '?'}.`);
  }
  return {
    outputs: { ...read.outputs, ...standInOutputs },
    declared,
    ok,
    summary: read.summary,
    ...(processResult !== undefined ? { process: processResult } : {}),
    ...(error !== undefined ? { error } : {}),
  };
}

async function runAction(
  scope: LegScope,
  resolved: Extract<ResolvedAction, { kind: 'action' }>,
  given: Record<string, string>,
  env: Record<string, string>,
  timeoutMs: number,
): Promise<StepProcessResult> {
  const { template, dir } = resolved.metadata;
  const inputs = template.inputs ?? [];
  const unknown = Object.keys(given).filter((k) => !inputs.some((i) => i.id === k));
  if (unknown.length > 0) {
    // GitHub only warns ("Unexpected input(s)"); a test runner fails: the input was renamed or misspelt.
    throw new WorkflowChainError(`Unexpected input(s) '${unknown.join("', '")}', valid inputs are ['${inputs.map((i) => i.id).join("', '")}'] for ${resolved.uses}`);
  }
  const actionEnv = { ...env };
  const defaults = { contexts: scope.contexts(), status: scope.status };
  for (const input of inputs) {
    const value = given[input.id] ?? (input.default !== undefined ? tokenString(input.default, defaults) : '');
    actionEnv[`INPUT_${input.id.replace(/ /g, '_').toUpperCase()}`] = value;
  }
  const runs = template.runs;
  if (runs.using !== 'node24') {
    throw new StepFailure(`${resolved.uses} runs on ${runs.using}; GitHub's runners run JavaScript actions on node24 only`);
  }
  if ('post' in runs && runs.post !== undefined) throw new StepFailure(`${resolved.uses}: post steps are not run by the local runner`);
  await mkdir(scope.temp, { recursive: true });
  return runStepProcess({
    command: NODE24,
    args: [join(dir, runs.main)],
    cwd: scope.workspace,
    env: actionEnv,
    masks: scope.masks,
    onLine: (line) => scope.log(line),
    signal: scope.state.controller.signal,
    timeoutMs,
  });
}

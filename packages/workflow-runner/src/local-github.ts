/**
 * The part of GitHub that runs workflows, on this machine: `run()` takes a workflow FILE (read as it
 * is, with GitHub's parser), the event and its inputs, and runs the jobs against the real test host,
 * Docker engine and registry. Runs started together share the repository's concurrency groups, so
 * a test can hold a deploy and see what waits behind it. `cancel()` cancels a run as GitHub does.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { data } from '@actions/expressions';
import { ArtifactStore, artifactsOfRun } from './artifact-store.js';
import { ConcurrencyGroups } from './concurrency.js';
import { messageOf, type PlainValue, toExpressionData, WorkflowChainError } from './expressions.js';
import { runJobs } from './job-runner.js';
import { Masks } from './masks.js';
import type { LocalGitHubOptions, Result, RunRequest, RunResult, RunState } from './run-model.js';
import { tokenString, tokenValue } from './template-values.js';
import { workflowInputs } from './workflow-inputs.js';
import { readWorkflowFile } from './workflow-file.js';

export interface RunHandle {
  readonly runId: number;
  /** Cancels the run: the running step gets SIGINT, then SIGTERM 7.5 s later, then SIGKILL. */
  cancel(): void;
  readonly result: Promise<RunResult>;
}

export class LocalGitHub {
  private nextRun = 1;
  readonly concurrency: ConcurrencyGroups;

  readonly options: LocalGitHubOptions;
  constructor(options: LocalGitHubOptions) {
    this.options = options;
    this.concurrency = options.concurrency ?? new ConcurrencyGroups();
    options.api.serveArtifacts((runId) => artifactsOfRun(options.scratch, runId));
  }

  run(request: RunRequest): Promise<RunResult> {
    return this.start(request).result;
  }

  start(request: RunRequest): RunHandle {
    const runId = this.nextRun++;
    const controller = new AbortController();
    return { runId, cancel: () => controller.abort(), result: this.execute(runId, request, controller) };
  }

  private async execute(runId: number, request: RunRequest, controller: AbortController): Promise<RunResult> {
    const options: LocalGitHubOptions = { ...this.options, concurrency: this.concurrency };
    await mkdir(options.scratch, { recursive: true });
    const dir = await mkdtemp(join(options.scratch, `run-${runId}-`));
    const sha = request.sha ?? '0'.repeat(40);
    const ref = request.ref ?? `refs/heads/${options.repository.defaultBranch ?? 'main'}`;
    const file = await readWorkflowFile(request.workflow);
    const nameToken = file.root.find('name');
    const workflowName = nameToken === undefined ? file.name : tokenString(nameToken, { contexts: {} });
    const masks = new Masks();
    for (const value of Object.values(options.secrets ?? {})) masks.add(value);
    for (const env of Object.values(options.environments ?? {})) for (const value of Object.values(env.secrets ?? {})) masks.add(value);
    const given: Record<string, PlainValue> = { ...(request.inputs ?? {}) };
    const event = {
      inputs: Object.fromEntries(Object.entries(given).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])),
      ref,
      after: sha,
      repository: { full_name: options.repository.name, name: options.repository.name.split('/')[1], default_branch: options.repository.defaultBranch ?? 'main' },
      sender: { login: request.actor ?? 'titan-operator' },
    };
    await writeFile(join(dir, 'event.json'), JSON.stringify(event));
    const state: RunState = {
      runId,
      options,
      request,
      sha,
      ref,
      dir,
      artifacts: new ArtifactStore(join(dir, 'artifacts')),
      masks,
      controller,
      jobs: {},
      approvals: [],
      chainErrors: [],
      log: [],
      github: (job, token, workspace) =>
        toExpressionData({
          repository: options.repository.name,
          repository_owner: options.repository.name.split('/')[0] ?? '',
          sha,
          ref,
          ref_name: ref.replace(/^refs\/(heads|tags)\//, ''),
          ref_type: ref.startsWith('refs/tags/') ? 'tag' : 'branch',
          actor: request.actor ?? 'titan-operator',
          triggering_actor: request.actor ?? 'titan-operator',
          run_id: String(runId),
          run_number: String(runId),
          run_attempt: '1',
          server_url: 'https://github.com',
          api_url: options.api.url,
          event_name: request.event,
          event,
          workflow: workflowName,
          job,
          token,
          workspace,
        }) as data.Dictionary,
    };
    let conclusion: Result;
    const outputs: Record<string, string> = {};
    const releases: (() => void)[] = [];
    try {
      const trigger = request.event === 'workflow_dispatch' ? file.template.events.workflow_dispatch : undefined;
      if (request.event === 'workflow_dispatch' && trigger === undefined) throw new WorkflowChainError(`${file.name} has no workflow_dispatch trigger`);
      const inputs = workflowInputs(trigger?.inputs, given, `${file.name} (${request.event})`);
      const concurrency = file.root.find('concurrency');
      if (concurrency !== undefined) {
        const value = tokenValue(concurrency, { contexts: { github: state.github('', '', ''), inputs, vars: toExpressionData({ ...(options.vars ?? {}) }) } });
        const settings = typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {};
        const group = typeof value === 'string' ? value : typeof settings['group'] === 'string' ? settings['group'] : JSON.stringify(settings['group']);
        releases.push(
          await this.concurrency.acquire({
            group,
            cancelInProgress: settings['cancel-in-progress'] === true,
            queue: settings['queue'] === 'max' ? 'max' : 'single',
            holder: `run ${runId} ${file.name}`,
            cancel: () => controller.abort(),
          }),
        );
      }
      await runJobs(state, { file, prefix: '', inputs, secrets: { ...(options.secrets ?? {}) }, permissionsCap: undefined });
      const results = Object.values(state.jobs).map((j) => j.result);
      conclusion = controller.signal.aborted ? 'cancelled' : results.includes('failure') ? 'failure' : results.includes('cancelled') ? 'cancelled' : 'success';
    } catch (error: unknown) {
      if (error instanceof WorkflowChainError) state.chainErrors.push(error.message);
      state.log.push(`error: ${messageOf(error)}`);
      options.onLog?.(`[run ${runId}] error: ${messageOf(error)}`);
      conclusion = 'failure';
    } finally {
      for (const release of releases) release();
    }
    return { runId, conclusion, jobs: state.jobs, outputs, approvals: state.approvals, chainErrors: state.chainErrors, artifacts: state.artifacts.dir, log: state.log };
  }
}

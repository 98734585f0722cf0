/**
 * What a local workflow run is given and what it reports: the repository and its settings
 * (secrets, variables, environments with their reviewers), the request (workflow file, event,
 * inputs, commit), and the result a test or the demo reads (every job and matrix leg, every step
 * with its outcome, outputs and log, job summaries, approvals, deployments, broken chains).
 */
import type { data } from '@actions/expressions';
import type { ArtifactStore } from './artifact-store.js';
import type { ConcurrencyGroups } from './concurrency.js';
import type { GitHubApiStandIn, Permissions } from './github-api.js';
import type { Masks } from './masks.js';
import type { StepProcessResult } from './step-process.js';

export interface EnvironmentSettings {
  readonly secrets?: Readonly<Record<string, string>>;
  readonly vars?: Readonly<Record<string, string>>;
  /** Required reviewers: a job naming the environment waits for `approve` (as for a person's review). */
  readonly reviewers?: boolean;
}

export interface ApprovalRequest {
  readonly runId: number;
  readonly environment: string;
  readonly job: string;
}

/** A repository whose actions and workflows a `uses:` may name (`titan/actions/action-deploy@v1`). */
export interface ActionRepository {
  readonly root: string;
  /** The refs that resolve to this working tree (the release the tags will point at). */
  readonly refs: readonly string[];
}

export interface LocalGitHubOptions {
  /** The repository the workflows run in (what actions/checkout checks out). */
  readonly repository: { readonly root: string; readonly name: string; readonly defaultBranch?: string };
  /** Published repositories by owner/name; the running repository's own name resolves to its root too. */
  readonly actionRepositories?: Readonly<Record<string, ActionRepository>>;
  readonly secrets?: Readonly<Record<string, string>>;
  readonly vars?: Readonly<Record<string, string>>;
  readonly environments?: Readonly<Record<string, EnvironmentSettings>>;
  /** Answers a required review; without it every review is approved (and recorded). */
  readonly approve?: (request: ApprovalRequest) => boolean | Promise<boolean>;
  readonly api: GitHubApiStandIn;
  /** Where runs keep their workspaces and artifacts. */
  readonly scratch: string;
  /** Every log line of every run as it happens (`[run 1 deploy/sign] ...`). */
  readonly onLog?: (line: string) => void;
  /** Called when a step starts (tests that act while a deploy runs). */
  readonly onStep?: (event: { runId: number; job: string; step: string }) => void;
  readonly concurrency?: ConcurrencyGroups;
}

export interface RunRequest {
  /** Path of the workflow file (read as it is, never copied). */
  readonly workflow: string;
  readonly event: 'workflow_dispatch' | 'push';
  readonly inputs?: Readonly<Record<string, string | boolean | number>>;
  readonly sha?: string;
  readonly ref?: string;
  readonly actor?: string;
  /**
   * Jobs (by id, `deploy/sign` inside a called workflow) not run but concluded with this result, said
   * in the run's log: for a job that is the suite a test belongs to (release.yml's `test`, ci.yml).
   */
  readonly concluded?: Readonly<Record<string, Result>>;
}

export type Result = 'success' | 'failure' | 'cancelled' | 'skipped';

export interface StepRecord {
  readonly id: string;
  readonly name: string;
  readonly outcome: Result;
  readonly conclusion: Result;
  readonly outputs: Record<string, string>;
  readonly log: string[];
  readonly process?: StepProcessResult;
  readonly error?: string;
}

export interface LegRecord {
  /** `deploy/deploy-staging` or `build (web, ...)`. */
  readonly name: string;
  readonly matrix: Record<string, unknown>;
  result: Result;
  readonly steps: StepRecord[];
  readonly log: string[];
  summary: string;
  outputs: Record<string, string>;
  environment?: { name: string; url: string; deployment: boolean };
  permissions?: Permissions;
}

export interface JobRecord {
  /** The job's id, with the calling job's id before it for a called workflow's jobs (`deploy/sign`). */
  readonly id: string;
  result: Result;
  outputs: Record<string, string>;
  /** The outputs it declares (`jobs.<id>.outputs`, or a called workflow's `on.workflow_call.outputs`). */
  declaredOutputs: string[];
  readonly legs: LegRecord[];
  error?: string;
}

export interface RunResult {
  readonly runId: number;
  readonly conclusion: Result;
  readonly jobs: Record<string, JobRecord>;
  /** The workflow's `on.workflow_call.outputs` (for a called workflow) or empty. */
  readonly outputs: Record<string, string>;
  readonly approvals: ApprovalRequest[];
  /** Reads of names the workflow never defines (renamed outputs, unknown inputs): a broken chain. */
  readonly chainErrors: string[];
  readonly artifacts: string;
  /** Every line of the run's log, each prefixed with its job. */
  readonly log: string[];
}

/** State shared by every job of one run (called workflows included). */
export interface RunState {
  readonly runId: number;
  readonly options: LocalGitHubOptions;
  readonly request: RunRequest;
  readonly sha: string;
  readonly ref: string;
  readonly dir: string;
  readonly artifacts: ArtifactStore;
  readonly masks: Masks;
  readonly controller: AbortController;
  readonly jobs: Record<string, JobRecord>;
  readonly approvals: ApprovalRequest[];
  readonly chainErrors: string[];
  readonly log: string[];
  readonly github: (job: string, token: string, workspace: string) => data.Dictionary;
}

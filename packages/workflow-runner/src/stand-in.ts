/**
 * What a local stand-in for a third-party action (actions/checkout, docker/build-push-action, ...)
 * is given and declares. A stand-in names the versions it stands in for, the inputs it implements
 * (a workflow giving any other input fails: nothing is silently ignored) and the outputs it sets.
 */
import type { ArtifactStore } from './artifact-store.js';
import type { GitHubApiStandIn } from './github-api.js';

export class StepFailure extends Error {
  override name = 'StepFailure';
}

export interface StandInContext {
  /** The `with:` values the step gave (only those). */
  readonly inputs: Readonly<Record<string, string>>;
  /** GITHUB_WORKSPACE of the job. */
  readonly workspace: string;
  /** What actions/checkout checks out: the repository's files at the run's commit. */
  readonly repository: { readonly root: string; readonly name: string; readonly sha: string; readonly ref: string };
  readonly artifacts: ArtifactStore;
  /** The artifacts of another run of this repository (download-artifact's run-id), if it exists. */
  readonly runArtifacts: (runId: number) => Promise<ArtifactStore | undefined>;
  /** GitHub's REST API stand-in, which issued the job's tokens. */
  readonly api: Pick<GitHubApiStandIn, 'allows'>;
  readonly log: (line: string) => void;
  /** The environment the step's processes get. */
  readonly env: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal | undefined;
}

export interface StandIn {
  /** owner/name as written in `uses:`. */
  readonly uses: string;
  readonly versions: readonly string[];
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** One line for the README's table of stand-ins: what it does instead. */
  readonly does: string;
  run(context: StandInContext): Promise<Record<string, string>>;
}

/** A `true`/`false` input of a stand-in (YAML 1.2 spellings), with its default. */
export function booleanInput(context: StandInContext, name: string, fallback: boolean): boolean {
  const value = context.inputs[name];
  if (value === undefined || value === '') return fallback;
  if (/^true$/i.test(value)) return true;
  if (/^false$/i.test(value)) return false;
  throw new StepFailure(`Input ${name} must be true or false, got ${JSON.stringify(value)}`);
}

/** A multi-line (or, with `commas`, comma-separated) list input. */
export function listInput(context: StandInContext, name: string, commas = false): string[] {
  const value = context.inputs[name] ?? '';
  return value
    .split(commas ? /[\n,]/ : /\n/)
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/**
 * What a step's `uses:` names, resolved as a runner resolves it, but locally:
 *  - `./path`: an action in the job's workspace (so actions/checkout must have run first);
 *  - `owner/repo/path@ref` of a published repository this run knows (`titan/actions/action-deploy@v1`):
 *    that repository's working tree, i.e. the committed bundle the release will tag, when `ref` is one
 *    the tree stands for;
 *  - `owner/repo@vN` of a third-party action that has a local stand-in, in the major it stands in for.
 * Anything else fails the step, naming what could not be resolved.
 */
import { join, resolve } from 'node:path';
import { readActionMetadata, type ActionMetadata } from './action-metadata.js';
import { downloadArtifactStandIn, uploadArtifactStandIn } from './artifact-stand-ins.js';
import { checkoutStandIn } from './checkout-stand-in.js';
import { buildPushStandIn, loginStandIn, setupBuildxStandIn } from './docker-stand-ins.js';
import { setupNodeStandIn } from './setup-node-stand-in.js';
import type { LocalGitHubOptions } from './run-model.js';
import { StepFailure, type StandIn } from './stand-in.js';

export const STAND_INS: readonly StandIn[] = [checkoutStandIn, setupNodeStandIn, uploadArtifactStandIn, downloadArtifactStandIn, setupBuildxStandIn, loginStandIn, buildPushStandIn];

export type ResolvedAction = { kind: 'action'; uses: string; metadata: ActionMetadata } | { kind: 'stand-in'; uses: string; standIn: StandIn };

const REMOTE = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)((?:\/[^@]+)?)@(.+)$/;

export async function resolveUses(uses: string, workspace: string, options: LocalGitHubOptions): Promise<ResolvedAction> {
  if (uses.startsWith('./')) {
    const dir = resolve(workspace, uses);
    return { kind: 'action', uses, metadata: await readActionMetadata(dir, uses) };
  }
  const remote = REMOTE.exec(uses);
  if (remote === null) throw new StepFailure(`${uses}: not an action reference the local runner can resolve (./path or owner/repo[/path]@ref)`);
  const [, owner = '', repo = '', path = '', ref = ''] = remote;
  const name = `${owner}/${repo}`;
  const published = options.actionRepositories?.[name];
  if (published !== undefined) {
    if (!published.refs.includes(ref)) {
      throw new StepFailure(`${uses}: ${name}@${ref} is not a ref this working tree stands for (${published.refs.join(', ')})`);
    }
    return { kind: 'action', uses, metadata: await readActionMetadata(join(published.root, path), uses) };
  }
  const standIn = STAND_INS.find((s) => s.uses === name);
  if (standIn === undefined || path !== '') {
    throw new StepFailure(`${uses}: no local equivalent of this action (stand-ins: ${STAND_INS.map((s) => `${s.uses}@${s.versions.join('/')}`).join(', ')})`);
  }
  const major = /^(v\d+)(?:\.\d+){0,2}$/.exec(ref)?.[1];
  if (major === undefined || !standIn.versions.includes(major)) {
    throw new StepFailure(`${uses}: the local stand-in implements ${name}@${standIn.versions.join('/')}, not ${ref}`);
  }
  return { kind: 'stand-in', uses, standIn };
}

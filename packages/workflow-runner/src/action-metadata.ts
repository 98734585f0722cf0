/**
 * An action's action.yml, read with GitHub's own action parser (@actions/workflow-parser): its
 * inputs (defaults may be expressions such as `${{ github.token }}`), its outputs and how it runs.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { convertActionTemplate, parseAction, type ActionTemplate } from '@actions/workflow-parser/actions/index';
import { NoOperationTraceWriter } from '@actions/workflow-parser';

export class ActionMetadataError extends Error {
  override name = 'ActionMetadataError';
}

export interface ActionMetadata {
  /** The folder holding action.yml. */
  readonly dir: string;
  readonly template: ActionTemplate;
}

export async function readActionMetadata(dir: string, what: string): Promise<ActionMetadata> {
  let content: string | undefined;
  let name = 'action.yml';
  for (const candidate of ['action.yml', 'action.yaml']) {
    try {
      content = await readFile(join(dir, candidate), 'utf8');
      name = candidate;
      break;
    } catch {
      // try the next name
    }
  }
  if (content === undefined) {
    throw new ActionMetadataError(`Can't find 'action.yml' or 'action.yaml' under '${dir}' for ${what}. Did you forget to run actions/checkout before running your local action?`);
  }
  const parsed = parseAction({ name, content }, new NoOperationTraceWriter());
  const errors = parsed.context.errors.getErrors();
  if (errors.length > 0 || parsed.value === undefined) {
    throw new ActionMetadataError(`${join(dir, name)} is not a valid action: ${errors.map((e) => e.message).join('; ')}`);
  }
  return { dir, template: convertActionTemplate(parsed.context, parsed.value) };
}

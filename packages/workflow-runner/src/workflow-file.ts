/**
 * A workflow file read as GitHub reads it: @actions/workflow-parser parses the YAML against the
 * workflow schema and converts it to the workflow model (events, jobs, needs, conditions, outputs,
 * concurrency). The model leaves out a step's `with:` and a job's `permissions:`; those are read
 * from the parsed token tree, which the schema has validated all the same.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { convertWorkflowTemplate, isMapping, isSequence, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import type { Job, ReusableWorkflowJob, Step, WorkflowTemplate } from '@actions/workflow-parser/model/workflow-template';
import type { MappingToken } from '@actions/workflow-parser/templates/tokens/mapping-token';
import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/template-token';

export class WorkflowFileError extends Error {
  override name = 'WorkflowFileError';
}

export interface WorkflowFile {
  /** Absolute path of the file read. */
  readonly path: string;
  readonly name: string;
  readonly template: WorkflowTemplate;
  /** The parsed root mapping (the schema-checked tokens the model was made from). */
  readonly root: MappingToken;
}

export async function readWorkflowFile(path: string): Promise<WorkflowFile> {
  const content = await readFile(path, 'utf8');
  const name = basename(path);
  const parsed = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  const errors = parsed.context.errors.getErrors();
  if (errors.length > 0 || parsed.value === undefined) {
    throw new WorkflowFileError(`${path} is not a valid workflow:\n${errors.map((e) => `  ${e.message}`).join('\n')}`);
  }
  const template = await convertWorkflowTemplate(parsed.context, parsed.value);
  const problems = [...(template.errors ?? []).map((e) => e.Message), ...parsed.context.errors.getErrors().map((e) => e.message)];
  if (problems.length > 0) throw new WorkflowFileError(`${path} is not a valid workflow:\n${problems.map((m) => `  ${m}`).join('\n')}`);
  if (!isMapping(parsed.value)) throw new WorkflowFileError(`${path}: the workflow is not a mapping`);
  return { path, name, template, root: parsed.value };
}

/** The raw mapping of a job (`jobs.<id>`). */
export function jobToken(file: WorkflowFile, jobId: string): MappingToken {
  const jobs = file.root.find('jobs');
  const job = jobs !== undefined && isMapping(jobs) ? jobs.find(jobId) : undefined;
  if (job === undefined || !isMapping(job)) throw new WorkflowFileError(`${file.name}: no job ${jobId}`);
  return job;
}

/** The raw mapping of a job's step by its position. */
export function stepToken(file: WorkflowFile, jobId: string, index: number): MappingToken {
  const steps = jobToken(file, jobId).find('steps');
  if (steps === undefined || !isSequence(steps)) throw new WorkflowFileError(`${file.name}: job ${jobId} has no steps`);
  let i = 0;
  for (const step of steps) {
    if (i++ === index) {
      if (!isMapping(step)) break;
      return step;
    }
  }
  throw new WorkflowFileError(`${file.name}: job ${jobId} has no step ${index + 1}`);
}

/** A key of a raw mapping. */
export function field(mapping: MappingToken, key: string): TemplateToken | undefined {
  return mapping.find(key);
}

export type { Job, ReusableWorkflowJob, Step, WorkflowTemplate };

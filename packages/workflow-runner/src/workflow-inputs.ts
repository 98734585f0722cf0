/**
 * The `inputs` context of a run: the values given, checked against the workflow's definitions as
 * GitHub checks them (an input the workflow does not define, a required one missing, a value of the
 * wrong type or outside a choice's options are errors), defaults applied, and a strict dictionary so
 * an expression reading an input that does not exist breaks the chain.
 */
import type { InputConfig } from '@actions/workflow-parser/model/workflow-template';
import { type PlainValue, strictDictionary, type StrictDictionary, WorkflowChainError } from './expressions.js';

export type InputDefinitions = Readonly<Record<string, InputConfig & { default?: unknown }>>;

export function workflowInputs(definitions: InputDefinitions | undefined, given: Readonly<Record<string, PlainValue>>, where: string): StrictDictionary {
  const defs = definitions ?? {};
  const unknown = Object.keys(given).filter((k) => defs[k] === undefined);
  if (unknown.length > 0) throw new WorkflowChainError(`${where}: Invalid input, ${unknown.join(', ')} is not defined in the referenced workflow (it defines ${Object.keys(defs).join(', ') || 'no inputs'})`);
  const values: Record<string, PlainValue> = {};
  for (const [name, def] of Object.entries(defs)) {
    let value = given[name];
    if (value === undefined || value === '') {
      if (def.required === true && (def.default === undefined || def.default === '')) throw new WorkflowChainError(`${where}: Input ${name} is required, but not provided while calling.`);
      const fallback: unknown = def.default;
      value = isToken(fallback) ? fallback.toString() : ((fallback) ?? (String(def.type) === 'boolean' ? false : ''));
    }
    values[name] = coerce(name, def, value, where);
  }
  return strictDictionary('inputs', values, Object.keys(defs));
}

function coerce(name: string, def: InputConfig, value: PlainValue, where: string): PlainValue {
  switch (String(def.type)) {
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === 'false') return value === 'true';
      throw new WorkflowChainError(`${where}: input ${name} is a boolean, got ${JSON.stringify(value)}`);
    case 'choice':
      if (typeof value !== 'string' || !(def.options ?? []).includes(value)) {
        throw new WorkflowChainError(`${where}: input ${name} must be one of ${(def.options ?? []).join(', ')}, got ${JSON.stringify(value)}`);
      }
      return value;
    default:
      if (String(def.type) === 'number') {
        const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
        if (!Number.isFinite(n)) throw new WorkflowChainError(`${where}: input ${name} is a number, got ${JSON.stringify(value)}`);
        return n;
      }
      if (typeof value === 'boolean' || typeof value === 'number') return String(value);
      if (typeof value !== 'string') throw new WorkflowChainError(`${where}: input ${name} is a string, got ${JSON.stringify(value)}`);
      return value;
  }
}

function isToken(value: unknown): value is { toString(): string } {
  return typeof value === 'object' && value !== null && 'templateTokenType' in value;
}

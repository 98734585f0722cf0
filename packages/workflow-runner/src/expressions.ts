/**
 * Workflow expressions (`${{ ... }}`), evaluated by GitHub's own evaluator (@actions/expressions)
 * over contexts built here. Two things a runner does that the library leaves to its host are added:
 * the status functions (`success()`, `failure()`, `always()`, `cancelled()`) and the conversion of
 * plain values to and from expression data.
 *
 * Contexts can be STRICT: a strict dictionary throws a WorkflowChainError when an expression reads
 * a key it does not hold (an output no step or job declares, a step id that does not exist, an
 * input the workflow does not define). GitHub evaluates such a read to an empty string and goes on;
 * the test runner fails instead, so that a renamed output or a misspelt id breaks the chain loudly.
 */
import { data, Evaluator, Lexer, Parser } from '@actions/expressions';
import type { FunctionDefinition } from '@actions/expressions/funcs/info';
import { falsy, truthy } from '@actions/expressions/result';

/** An expression read something the workflow never defines: the chain of jobs and steps is broken. */
export class WorkflowChainError extends Error {
  override name = 'WorkflowChainError';
}

/** An expression that does not parse or cannot be evaluated. */
export class ExpressionFailure extends Error {
  override name = 'ExpressionFailure';
}

export type PlainValue = string | number | boolean | null | PlainValue[] | { [key: string]: PlainValue };

/** A dictionary that refuses reads of keys it does not hold, naming what it is (`steps.sign.outputs`). */
export class StrictDictionary extends data.Dictionary {
  readonly what: string;
  private readonly known: readonly string[] | undefined;
  constructor(
    what: string,
    known: readonly string[] | undefined = undefined,
  ) {
    super();
    this.what = what;
    this.known = known;
  }

  override get(key: string): data.ExpressionData | undefined {
    const value = super.get(key);
    if (value !== undefined) return value;
    const declared = this.known?.some((k) => k.toLowerCase() === key.toLowerCase()) ?? false;
    if (declared) return new data.Null();
    const have = this.known ?? this.pairs().map((p) => p.key);
    throw new WorkflowChainError(`${this.what} has no ${JSON.stringify(key)} (it has ${have.length === 0 ? 'none' : have.join(', ')})`);
  }
}

/** Plain JSON-like values to expression data (objects become ordinary, lenient dictionaries). */
export function toExpressionData(value: unknown): data.ExpressionData {
  if (value === null || value === undefined) return new data.Null();
  if (value instanceof data.Dictionary || value instanceof data.Array) return value;
  if (typeof value === 'string') return new data.StringData(value);
  if (typeof value === 'number') return new data.NumberData(value);
  if (typeof value === 'boolean') return new data.BooleanData(value);
  if (Array.isArray(value)) return new data.Array(...value.map(toExpressionData));
  if (typeof value === 'object') {
    const dictionary = new data.Dictionary();
    for (const [k, v] of Object.entries(value)) dictionary.add(k, toExpressionData(v));
    return dictionary;
  }
  throw new ExpressionFailure(`cannot use a ${typeof value} in an expression context`);
}

/** A strict dictionary of plain values (see StrictDictionary); `known` names keys that may be absent. */
export function strictDictionary(what: string, values: Record<string, unknown>, known?: readonly string[]): StrictDictionary {
  const dictionary = new StrictDictionary(what, known);
  for (const [k, v] of Object.entries(values)) dictionary.add(k, toExpressionData(v));
  return dictionary;
}

/** Expression data to plain values. */
export function toPlain(value: data.ExpressionData): PlainValue {
  switch (value.kind) {
    case data.Kind.Null:
      return null;
    case data.Kind.String:
      return (value).value;
    case data.Kind.Number:
      return (value).value;
    case data.Kind.Boolean:
      return (value).value;
    case data.Kind.Array:
      return (value).values().map(toPlain);
    default: {
      const out: Record<string, PlainValue> = {};
      for (const pair of (value).pairs()) out[pair.key] = toPlain(pair.value);
      return out;
    }
  }
}

/** How a value lands in a string field (`with:`, `env:`, outputs), as the runner writes it. */
export function asString(value: data.ExpressionData): string {
  if (value.kind === data.Kind.Null) return '';
  if (value.kind === data.Kind.Dictionary || value.kind === data.Kind.Array) return JSON.stringify(toPlain(value), null, 2);
  return value.coerceString();
}

export function isTruthy(value: data.ExpressionData): boolean {
  return truthy(value) && !falsy(value);
}

/** What the status functions answer in the place the expression is evaluated. */
/** `skipped`: an ancestor job was skipped, so success() is false but failure() too. */
export type StatusState = 'success' | 'failure' | 'cancelled' | 'skipped';

export interface EvaluationScope {
  /** The contexts by name (github, inputs, needs, steps, matrix, secrets, vars, env, job, runner, strategy). */
  readonly contexts: Record<string, data.ExpressionData>;
  /** The state the status functions see; success when not given. */
  readonly status?: StatusState;
}

const CONTEXT_NAMES = ['github', 'inputs', 'needs', 'steps', 'matrix', 'secrets', 'vars', 'env', 'job', 'jobs', 'runner', 'strategy'];

function statusFunctions(status: StatusState): Map<string, FunctionDefinition> {
  const fn = (name: string, answer: () => boolean): [string, FunctionDefinition] => [
    name,
    { name, minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(answer()) },
  ];
  return new Map([
    fn('success', () => status === 'success'),
    fn('failure', () => status === 'failure'),
    fn('cancelled', () => status === 'cancelled'),
    fn('always', () => true),
  ]);
}

/** Evaluates one expression (the text inside `${{ }}`). */
export function evaluate(expression: string, scope: EvaluationScope): data.ExpressionData {
  const functions = statusFunctions(scope.status ?? 'success');
  let tree;
  try {
    const { tokens } = new Lexer(expression).lex();
    tree = new Parser(tokens, CONTEXT_NAMES, [...functions.values()]).parse();
  } catch (error: unknown) {
    throw new ExpressionFailure(`the expression ${JSON.stringify(expression)} does not parse: ${messageOf(error)}`, { cause: error });
  }
  const context = new StrictDictionary('the contexts available here');
  for (const [name, value] of Object.entries(scope.contexts)) context.add(name, value);
  try {
    return new Evaluator(tree, context, functions).evaluate();
  } catch (error: unknown) {
    if (error instanceof WorkflowChainError) throw new WorkflowChainError(`${error.message}, read by \${{ ${expression} }}`, { cause: error });
    throw new ExpressionFailure(`the expression ${JSON.stringify(expression)} failed: ${messageOf(error)}`, { cause: error });
  }
}

/** Whether the expression text uses a status function (if: without one gets `success() &&`). */
export function usesStatusFunction(expression: string): boolean {
  return /\b(success|failure|always|cancelled)\s*\(/i.test(expression);
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

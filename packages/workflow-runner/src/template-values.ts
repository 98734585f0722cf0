/**
 * Values of a parsed workflow's template tokens: literals as they are, `${{ }}` expressions (GitHub's
 * parser has already turned `a ${{ x }} b` into `format('a {0} b', x)`) evaluated in a scope.
 */
import { data } from '@actions/expressions';
import { isBasicExpression, isBoolean, isMapping, isNumber, isSequence, isString } from '@actions/workflow-parser';
import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/template-token';
import { asString, evaluate, type EvaluationScope, isTruthy, toExpressionData, toPlain, type PlainValue } from './expressions.js';

/** The token's value as expression data (mappings and sequences evaluated member by member). */
export function tokenData(token: TemplateToken, scope: EvaluationScope): data.ExpressionData {
  if (isBasicExpression(token)) return evaluate(token.expression, scope);
  if (isString(token)) return new data.StringData(token.value);
  if (isBoolean(token)) return new data.BooleanData(token.value);
  if (isNumber(token)) return new data.NumberData(token.value);
  if (isSequence(token)) {
    const out = new data.Array();
    for (const item of token) out.add(tokenData(item, scope));
    return out;
  }
  if (isMapping(token)) {
    const out = new data.Dictionary();
    for (const pair of token) out.add(asString(tokenData(pair.key, scope)), tokenData(pair.value, scope));
    return out;
  }
  return new data.Null();
}

export function tokenValue(token: TemplateToken, scope: EvaluationScope): PlainValue {
  return toPlain(tokenData(token, scope));
}

export function tokenString(token: TemplateToken, scope: EvaluationScope): string {
  return asString(tokenData(token, scope));
}

export function tokenTruthy(token: TemplateToken, scope: EvaluationScope): boolean {
  return isTruthy(tokenData(token, scope));
}

/** A mapping token (`with:`, `env:`, `outputs:`) as name -> string, evaluated. */
export function tokenStringMap(token: TemplateToken | undefined, scope: EvaluationScope): Record<string, string> {
  const out: Record<string, string> = {};
  if (token === undefined) return out;
  const value = tokenData(token, scope);
  if (!(value instanceof data.Dictionary)) throw new Error(`expected a mapping at line ${token.line ?? '?'}, got ${asString(value)}`);
  for (const pair of value.pairs()) out[pair.key] = asString(pair.value);
  return out;
}

/** Literal text of a token known to be a plain string in the schema (step ids, `uses:`). */
export function literal(token: TemplateToken | undefined): string | undefined {
  return token !== undefined && isString(token) ? token.value : undefined;
}

export { toExpressionData };

/**
 * One route of the GitHub REST API stand-in (github-api.ts): the method and path it answers, the
 * permission a job's token needs for it (scope and level), and its handler, which returns the
 * status and the JSON body.
 */
export interface Route {
  method: string;
  pattern: RegExp;
  scope: string;
  level: 'read' | 'write';
  handle(match: RegExpExecArray, body: Record<string, unknown>, runId: string, query: URLSearchParams): [number, unknown] | Promise<[number, unknown]>;
}

/** A request body's member when it is a string. */
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * The first line of a message, at most 400 characters: what a journal line, a host status or a
 * warning keeps of an error whose full text the run reports once elsewhere.
 */
export function firstLine(text: string): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > 400 ? `${line.slice(0, 400)}…` : line;
}

// marked-terminal ships no types (and @types/marked-terminal is written against an older marked):
// the one function the CLI calls, typed against the marked it runs with.
declare module 'marked-terminal' {
  import type { MarkedExtension } from 'marked';

  export function markedTerminal(options?: { width?: number; reflowText?: boolean; showSectionPrefix?: boolean; emoji?: boolean; tab?: number }): MarkedExtension;
}

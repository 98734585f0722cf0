import { isAbsolute, relative, resolve, sep } from 'node:path';

/**
 * How files are named in findings: relative to a root (the workspace, so that annotations land on
 * the right file) when the file is inside it, absolute otherwise. Always with `/` separators.
 */
export class DisplayPaths {
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  of(file: string): string {
    const absolute = resolve(file);
    const rel = relative(this.root, absolute);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return absolute.split(sep).join('/');
    return rel.split(sep).join('/');
  }
}

// The action folders of this repository: every directory holding an action.yml, at depth one or
// two (`action-deploy/`, `action-deploy/sign/`).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function actionDirs(root = '.') {
  const found = [];
  for (const top of readdirSync(root).filter((n) => n.startsWith('action-')).sort()) {
    const dir = join(root, top);
    if (!statSync(dir).isDirectory()) continue;
    if (existsSync(join(dir, 'action.yml'))) found.push(dir);
    for (const sub of readdirSync(dir).sort()) {
      const subdir = join(dir, sub);
      if (statSync(subdir).isDirectory() && existsSync(join(subdir, 'action.yml'))) found.push(subdir);
    }
  }
  return found;
}

/**
 * actions/checkout, locally: copies the repository's files (what `git ls-files` lists: tracked and
 * untracked-but-not-ignored, so a test sees its working tree) into the job's workspace, and checks
 * what it is asked: the same repository, the run's own commit, no history (the copy has none).
 * With `fetch-depth: 0` (all history) the repository must be a git repository holding the run's
 * commit: it is cloned, tags included, the commit checked out, and `origin` is the repository
 * itself, so what the job pushes lands there as it would on GitHub.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { booleanInput, type StandIn, StepFailure } from './stand-in.js';

const run = promisify(execFile);

export const checkoutStandIn: StandIn = {
  uses: 'actions/checkout',
  versions: ['v7'],
  inputs: ['repository', 'ref', 'token', 'path', 'persist-credentials', 'fetch-depth', 'fetch-tags', 'clean', 'show-progress'],
  outputs: ['ref', 'commit'],
  does: "copies the repository's working tree (git ls-files) into the job's workspace, or with fetch-depth 0 clones it (tags included, origin = the repository); refuses another repository, another commit or a partial history",
  async run(context) {
    const repository = context.inputs['repository'];
    if (repository !== undefined && repository !== '' && repository !== context.repository.name) {
      throw new StepFailure(`the local checkout has only ${context.repository.name}, not ${repository}`);
    }
    const ref = context.inputs['ref'];
    if (ref !== undefined && ref !== '' && ref !== context.repository.sha && ref !== context.repository.ref) {
      throw new StepFailure(`the local checkout has only the run's commit (${context.repository.sha}, ${context.repository.ref}), not ${ref}`);
    }
    const depth = context.inputs['fetch-depth'];
    if (depth !== undefined && depth !== '' && depth !== '1' && depth !== '0') {
      throw new StepFailure(`fetch-depth ${depth}: the local checkout copies the working tree (depth 1) or clones all of the history (0)`);
    }
    booleanInput(context, 'persist-credentials', true);
    const fetchTags = booleanInput(context, 'fetch-tags', false);
    const clean = booleanInput(context, 'clean', true);
    const target = resolve(context.workspace, context.inputs['path'] ?? '');
    if (!target.startsWith(context.workspace)) throw new StepFailure(`Repository path '${target}' is not under '${context.workspace}'`);
    if (clean) await rm(target, { recursive: true, force: true });
    if (depth === '0') {
      await mkdir(dirname(target), { recursive: true });
      const source = context.repository.root;
      try {
        await run('git', ['-C', source, 'cat-file', '-e', `${context.repository.sha}^{commit}`]);
      } catch {
        throw new StepFailure(`fetch-depth 0: ${context.repository.name} (${source}) holds no commit ${context.repository.sha}`);
      }
      await run('git', ['clone', '--quiet', '--no-checkout', ...(fetchTags ? [] : ['--no-tags']), source, target]);
      await run('git', ['-C', target, 'checkout', '--quiet', '--detach', context.repository.sha]);
      context.log(`Cloned ${context.repository.name} (all history${fetchTags ? ', tags' : ''}) and checked out ${context.repository.sha.slice(0, 12)} into ${target}`);
      return { ref: context.repository.ref, commit: context.repository.sha };
    }
    await mkdir(target, { recursive: true });
    const { stdout } = await run('git', ['-C', context.repository.root, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      maxBuffer: 64 * 1024 * 1024,
    });
    const files = stdout.split('\0').filter((f) => f !== '');
    for (const file of files) {
      try {
        await cp(join(context.repository.root, file), join(target, file), { preserveTimestamps: true });
      } catch (error: unknown) {
        // a file deleted in the working tree but still tracked: as after a checkout of the tree
        if (!(error instanceof Error && 'code' in error && error.code === 'ENOENT')) throw error;
      }
    }
    context.log(`Checked out ${context.repository.name}@${context.repository.sha.slice(0, 12)} (${files.length} files) into ${target}`);
    return { ref: context.repository.ref, commit: context.repository.sha };
  },
};

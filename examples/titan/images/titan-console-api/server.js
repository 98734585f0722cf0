// Stand-in for titan-console-api, the Node service of the sample release. At start it hashes the
// risk policy mounted at $TITAN_POLICY_FILE (default /etc/titan/policy.json) and serves, on $PORT,
//   GET /health  {"status":"ok","service":"<name>","policyHash":"<sha256 hex>","mode":"<TITAN_MODE>"}
// exactly as images/titan-service does: the status is "error" when the policy cannot be read, when
// TITAN_MODE is neither ARMED nor DISARMED, when TITAN_FAIL_HEALTH=1, or when the image was built
// with BROKEN=1. SIGTERM closes the server and ends the process.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const service = process.env.TITAN_SERVICE ?? '';
const port = Number(process.env.PORT ?? '');
const policyFile = process.env.TITAN_POLICY_FILE ?? '/etc/titan/policy.json';
let mode = process.env.TITAN_MODE ?? 'DISARMED';
if (!/^[a-z0-9-]+$/.test(service)) {
  console.error(`titan-service: TITAN_SERVICE must be set at build time (build arg SERVICE), got '${service}'`);
  process.exit(64);
}
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`${service}: PORT must be a number, got '${process.env.PORT ?? ''}'`);
  process.exit(64);
}

let status = 'ok';
let reason = '';
let policyHash = '';
try {
  policyHash = createHash('sha256').update(readFileSync(policyFile)).digest('hex');
} catch {
  status = 'error';
  reason = `policy file ${policyFile} is not readable`;
}
if (mode !== 'ARMED' && mode !== 'DISARMED') {
  status = 'error';
  reason = 'TITAN_MODE must be ARMED or DISARMED';
  mode = 'INVALID';
}
if (process.env.TITAN_FAIL_HEALTH === '1') {
  status = 'error';
  reason = 'TITAN_FAIL_HEALTH=1';
}
if (process.env.TITAN_BROKEN === '1') {
  status = 'error';
  reason = 'image built with BROKEN=1';
}
const health = `${JSON.stringify({ status, service, policyHash, mode })}\n`;

const server = createServer((request, response) => {
  if (request.method === 'GET' && (request.url === '/health' || request.url === '/')) {
    response.writeHead(200, { 'content-type': request.url === '/health' ? 'application/json' : 'text/html' });
    response.end(request.url === '/health' ? health : `<!doctype html><title>${service}</title><h1>${service}</h1>\n`);
    return;
  }
  response.writeHead(404).end();
});
server.listen(port, () => {
  console.log(`${service}: listening on :${port}, mode ${mode}, policy sha256 ${policyHash || 'none'}, health ${status}${reason ? ` (${reason})` : ''}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}

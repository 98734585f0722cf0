#!/usr/bin/env node
// Runs the spec-validated DigitalOcean API double (packages/digitalocean) as a process, for the demo:
//   node scripts/test-host/digitalocean-double.mjs TOKEN_FILE USER_DATA_DIR [DOMAIN...]
// It accepts the token held in TOKEN_FILE, plays an account holding the DNS zones DOMAIN..., gives
// every Droplet the address 127.0.0.1 (the Droplet stand-in of scripts/test-host/droplet), writes the
// user data of each Droplet created to USER_DATA_DIR/<droplet id> (as the metadata service would hold
// it), prints its URL on the first line of stdout, and runs until SIGTERM. Every request and answer is
// validated against DigitalOcean's spec; violations are printed to stderr. Needs the built package
// (npx turbo run build).
/* global setInterval, clearInterval */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DigitalOceanApiDouble } from '@titan/digitalocean/api-double';

const [tokenFile, userDataDir, ...domains] = process.argv.slice(2);
if (tokenFile === undefined || userDataDir === undefined) {
  console.error('usage: digitalocean-double.mjs TOKEN_FILE USER_DATA_DIR [DOMAIN...]');
  process.exit(2);
}
const double = await DigitalOceanApiDouble.start({ token: readFileSync(tokenFile, 'utf8').trim(), domains, dropletAddress: () => '127.0.0.1' });
const written = new Set();
const timer = setInterval(() => {
  for (const [id, userData] of double.world.userData) {
    if (written.has(id)) continue;
    // Whole or not at all: written aside, then renamed into place.
    writeFileSync(join(userDataDir, `${id}.tmp`), userData, { mode: 0o600 });
    renameSync(join(userDataDir, `${id}.tmp`), join(userDataDir, String(id)));
    written.add(id);
  }
  while (double.violations.length > 0) console.error(`spec violation: ${double.violations.shift()}`);
}, 50);
process.stdout.write(`${double.url}\n`);
process.on('SIGTERM', () => {
  clearInterval(timer);
  void double.close().then(() => process.exit(0));
});

#!/usr/bin/env node
// The npm registry this project's machines reach serves turbo's Linux binaries only, so `npm
// install` leaves turbo's macOS and Windows packages out of package-lock.json, and `npm ci` then
// refuses the lockfile as out of sync. This adds those optional, platform-bound entries back
// (without a download: npm never fetches a package for another OS). Run after `npm install`.
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const turbo = lock.packages['node_modules/turbo'];
if (!turbo) throw new Error('package-lock.json has no node_modules/turbo');
const platforms = {
  '@turbo/darwin-64': { os: ['darwin'], cpu: ['x64'] },
  '@turbo/darwin-arm64': { os: ['darwin'], cpu: ['arm64'] },
  '@turbo/windows-64': { os: ['win32'], cpu: ['x64'] },
  '@turbo/windows-arm64': { os: ['win32'], cpu: ['arm64'] },
};
let added = 0;
for (const [name, target] of Object.entries(platforms)) {
  const version = turbo.optionalDependencies?.[name];
  const key = `node_modules/${name}`;
  if (version === undefined || lock.packages[key]) continue;
  lock.packages[key] = { version, cpu: target.cpu, dev: true, license: 'MIT', optional: true, os: target.os };
  added++;
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)));
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`package-lock.json: ${added} platform entries added`);

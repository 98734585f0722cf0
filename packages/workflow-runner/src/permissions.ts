/**
 * The GITHUB_TOKEN permissions of a job: its own `permissions:`, else the workflow's, else the
 * repository default (restricted: contents and packages read). In a called workflow a job gets no
 * more than the calling job had.
 */
import type { PlainValue } from './expressions.js';
import type { PermissionLevel, Permissions } from './github-api.js';

const SCOPES = [
  'actions',
  'attestations',
  'checks',
  'contents',
  'deployments',
  'discussions',
  'id-token',
  'issues',
  'models',
  'packages',
  'pages',
  'pull-requests',
  'repository-projects',
  'security-events',
  'statuses',
] as const;

export const DEFAULT_PERMISSIONS: Permissions = { contents: 'read', packages: 'read', metadata: 'read' };

const RANK: Record<PermissionLevel, number> = { none: 0, read: 1, write: 2 };

export function parsePermissions(value: PlainValue | undefined, where: string): Permissions | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === 'read-all' || value === 'write-all') {
    const level = value === 'read-all' ? 'read' : 'write';
    return Object.fromEntries([...SCOPES.map((s): [string, PermissionLevel] => [s, level]), ['metadata', 'read']]);
  }
  if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${where}: permissions must be read-all, write-all or a mapping`);
  const out: Record<string, PermissionLevel> = { metadata: 'read' };
  for (const [scope, level] of Object.entries(value)) {
    if (level !== 'read' && level !== 'write' && level !== 'none') throw new Error(`${where}: permission ${scope} must be read, write or none`);
    out[scope] = level;
  }
  return out;
}

/** The lower of each scope's two levels (a called workflow's job under its caller's). */
export function capPermissions(wanted: Permissions, cap: Permissions | undefined): Permissions {
  if (cap === undefined) return wanted;
  const out: Record<string, PermissionLevel> = {};
  for (const [scope, level] of Object.entries(wanted)) {
    const limit = cap[scope] ?? 'none';
    out[scope] = RANK[level] <= RANK[limit] ? level : limit;
  }
  return out;
}

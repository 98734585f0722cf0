/**
 * A release id names the release folder on the host (`releases/<id>`), so it is restricted to a
 * charset that is safe in a path and a shell word. Sign makes it from the creation time and the
 * commit: `20261122T101112Z-0123456789ab`.
 */
export const RELEASE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** A full git object id: 40 hex digits (SHA-1) or 64 (SHA-256 repositories). */
export const GIT_SHA_PATTERN = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** createdAt as the manifest stores it: ISO 8601, UTC, whole seconds (`2026-11-22T10:11:12Z`). */
export const CREATED_AT_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

export function formatCreatedAt(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function releaseIdFor(createdAt: Date, gitSha: string): string {
  const stamp = formatCreatedAt(createdAt).replace(/[-:]/g, '');
  return `${stamp}-${gitSha.slice(0, 12)}`;
}

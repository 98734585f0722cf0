import { JobSummary } from '@titan/action-kit/job-summary';
import { pinnedImageReference } from '@titan/release/image-reference';
import { publicKeyToBase64 } from '@titan/release/release-key';
import type { SignedRelease } from '@titan/release/sign-release';

/** What a person reads after sign: the release, the key, every pinned image and the file count. */
export function releaseSummary(release: SignedRelease, publicKey: Uint8Array): JobSummary {
  const { manifest } = release;
  const summary = new JobSummary()
    .heading(`Release ${manifest.releaseId} signed`)
    .facts([
      ['release id', manifest.releaseId],
      ['git sha', manifest.git.sha],
      ['git ref', manifest.git.ref === '' ? '(none)' : manifest.git.ref],
      ['key id', manifest.keyId],
      ['public key', publicKeyToBase64(publicKey)],
      ['manifest sha256', release.manifestSha256],
      ['policy', `${manifest.policy.path} (sha256 ${manifest.policy.sha256})`],
      ['files', `${manifest.files.length} files, ${formatBytes(release.totalSize)} (plus manifest.json and manifest.sig)`],
      ['compose', manifest.compose.join(' + ')],
    ])
    .heading('Images', 3)
    .table(
      ['service', 'image@digest'],
      Object.entries(manifest.images).map(([service, image]) => [service, pinnedImageReference(image.image, image.digest)]),
    );
  summary.details(
    `Files (${manifest.files.length})`,
    manifest.files.map((f) => `${f.sha256}  ${f.size.toString().padStart(8)}  ${f.path}`).join('\n'),
  );
  return summary;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

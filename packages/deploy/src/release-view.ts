/**
 * A release as installed on the host, as far as deciding what changes needs: its manifest and the
 * definitions of its compose files (read back in one command, two when the guess missed a file).
 */
import type { HostLayout } from '@titan/host/host-layout';
import { readInstalledRelease } from '@titan/host/release-files';
import { DIGEST_OVERRIDE_FILE } from '@titan/release/manifest';
import type { SshConnection } from '@titan/ssh/connection';
import { definitionFiles, readComposeView } from '@titan/release/compose-model';
import type { ReleaseView } from './change-plan.js';

/** `guess`: the compose files the release probably has (the new release's), read with its manifest. */
export async function readReleaseView(connection: SshConnection, layout: HostLayout, releaseId: string, guess: readonly string[] = []): Promise<ReleaseView> {
  const { manifest, files } = await readInstalledRelease(connection, layout, releaseId, {
    guess: guess.filter((f) => f !== DIGEST_OVERRIDE_FILE),
    wanted: (m) => definitionFiles(m),
  });
  const compose = readComposeView(
    definitionFiles(manifest).map((name) => {
      const content = files.get(name);
      if (content === undefined) throw new Error(`${layout.releaseDir(releaseId)}/${name} could not be read.`);
      return { name, text: content.toString('utf8') };
    }),
  );
  return { manifest, compose };
}

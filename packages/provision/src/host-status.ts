/**
 * What the host says about itself (`sudo titan-host status`, read over the pinned connection):
 * the host key sshd uses and how many it offers, whether the injected first-boot key was replaced,
 * whether firstboot ran, the volume mount and the trusted release keys.
 */
export interface HostStatus {
  readonly hostKeyFingerprint: string;
  readonly hostKeyCount: number;
  /** The fingerprint recorded at rotation, or undefined when the injected key is still in use. */
  readonly rotatedTo: string | undefined;
  readonly firstboot: string | undefined;
  readonly volume: { readonly state: 'none' | 'mounted' | 'unmounted'; readonly mountPoint?: string; readonly source?: string };
  /** key id → sha256 of its PEM file. */
  readonly trust: ReadonlyMap<string, string>;
}

export class HostStatusError extends Error {
  override readonly name = 'HostStatusError';
}

export function parseHostStatus(text: string): HostStatus {
  let hostKeyFingerprint: string | undefined;
  let hostKeyCount = 0;
  let rotatedTo: string | undefined;
  let firstboot: string | undefined;
  let volume: HostStatus['volume'] = { state: 'none' };
  const trust = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [word, ...rest] = line.trim().split(/\s+/);
    if (word === undefined || word === '') continue;
    if (word === 'hostkey') hostKeyFingerprint = rest[0];
    else if (word === 'hostkeys') hostKeyCount = Number(rest[0] ?? 0);
    else if (word === 'rotated') rotatedTo = rest[0] === 'no' ? undefined : rest[0];
    else if (word === 'firstboot') firstboot = rest[0] === 'no' ? undefined : rest[0];
    else if (word === 'volume') {
      const state = rest[0];
      if (state === 'mounted') volume = { state, mountPoint: rest[1] ?? '', source: rest[2] ?? '' };
      else if (state === 'unmounted') volume = { state, mountPoint: rest[1] ?? '' };
    } else if (word === 'trust' && rest[0] !== undefined && rest[1] !== undefined) trust.set(rest[0], rest[1]);
  }
  if (hostKeyFingerprint === undefined || !hostKeyFingerprint.startsWith('SHA256:')) {
    throw new HostStatusError(`the host helper's status has no host key line:\n${text.slice(0, 500)}`);
  }
  return { hostKeyFingerprint, hostKeyCount, rotatedTo, firstboot, volume, trust };
}

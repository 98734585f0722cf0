/**
 * What a deploy changes, decided before anything stops, from the running release and the new one.
 *
 * A service changes when its pinned image changes, its definition in the compose files changes, a
 * release file it mounts (or reads as env_file) changes, or the mode changes and its definition
 * uses TITAN_MODE. Only the grouped services that change are stopped before the migrations, in the
 * stop order of the new release's stack profile (its groups, e.g. strategies, then execution, then
 * brain, then the operator surface). Infrastructure (the profile's other services) keeps running;
 * Compose recreates it after the switch only if its image or definition changed, and one whose
 * mounted configuration alone changed is restarted so that it reads the new release's files.
 * A service that does not change keeps its container: a release that changes one service recreates
 * only that one.
 */
import { type ReleaseManifest, stackProfileOf } from '@titan/release/manifest';
import { pinnedImageReference } from '@titan/release/image-reference';
import { groupedServices } from '@titan/release/stack-profile';
import type { TitanMode } from '@titan/host/compose-command';
import type { ComposeView } from '@titan/release/compose-model';

export type ChangeReason = 'new' | 'image' | 'definition' | 'files' | 'mode' | 'removed';

export interface ServiceChange {
  readonly service: string;
  /** Empty when the service does not change. */
  readonly reasons: readonly ChangeReason[];
  /** `repo@sha256:...` the new release pins (empty for a removed service). */
  readonly image: string;
  /** What the running release pins, when it has the service. */
  readonly previousImage?: string;
  /** In a group of the stack profile (stopped in order), not infrastructure. */
  readonly titan: boolean;
}

export interface ChangePlan {
  /** Every service of either release, sorted by name. */
  readonly services: readonly ServiceChange[];
  readonly changed: readonly string[];
  /** Grouped services to stop before the migrations, group by group. */
  readonly stopBeforeSwitch: readonly (readonly string[])[];
  /** Infrastructure whose mounted files alone changed: restarted after `up` so it reads them. */
  readonly restartAfterSwitch: readonly string[];
  /** Services to stop before returning to the running release (a rollback or the guard's revert). */
  readonly stopBeforeRevert: readonly string[];
}

export interface ReleaseView {
  readonly manifest: ReleaseManifest;
  /** The compose files of the release other than the digest override (images come from the manifest). */
  readonly compose: ComposeView;
}

export function planChanges(
  previous: ReleaseView | undefined,
  next: ReleaseView,
  modes: { previous: TitanMode | undefined; next: TitanMode },
): ChangePlan {
  const names = new Set([...next.compose.services.keys(), ...Object.keys(next.manifest.images)]);
  const previousNames = previous === undefined ? new Set<string>() : new Set([...previous.compose.services.keys(), ...Object.keys(previous.manifest.images)]);
  const modeChanged = previous !== undefined && (modes.previous ?? 'DISARMED') !== modes.next;
  const topLevelChanged = previous !== undefined && previous.compose.topLevel !== next.compose.topLevel;

  const stopOrder = stackProfileOf(next.manifest).groups.map((g) => g.services);
  const grouped = new Set(groupedServices(stackProfileOf(next.manifest)));

  const services: ServiceChange[] = [];
  for (const service of [...new Set([...names, ...previousNames])].sort()) {
    const titan = grouped.has(service);
    const nextImage = imageOf(next.manifest, service);
    const previousImage = previous === undefined ? undefined : imageOf(previous.manifest, service);
    if (!names.has(service)) {
      services.push({ service, reasons: ['removed'], image: '', ...(previousImage !== undefined ? { previousImage } : {}), titan });
      continue;
    }
    const reasons: ChangeReason[] = [];
    if (previous === undefined || !previousNames.has(service)) {
      reasons.push('new');
    } else {
      if (nextImage !== previousImage) reasons.push('image');
      const before = previous.compose.services.get(service);
      const after = next.compose.services.get(service);
      if (topLevelChanged || before?.definition !== after?.definition) reasons.push('definition');
      const paths = [...new Set([...(before?.releasePaths ?? []), ...(after?.releasePaths ?? [])])];
      if (filesDiffer(previous.manifest, next.manifest, paths)) reasons.push('files');
      if (modeChanged && (after?.usesMode === true || before?.usesMode === true)) reasons.push('mode');
    }
    services.push({ service, reasons, image: nextImage ?? '', ...(previousImage !== undefined ? { previousImage } : {}), titan });
  }

  const changedSet = new Set(services.filter((s) => s.reasons.length > 0).map((s) => s.service));
  const existedAndChanged = (service: string): boolean => changedSet.has(service) && previousNames.has(service) && names.has(service);
  const stopBeforeSwitch = stopOrder.map((group) => group.filter(existedAndChanged)).filter((group) => group.length > 0);
  const restartAfterSwitch = services
    .filter((s) => !s.titan && existedAndChanged(s.service) && s.reasons.every((r) => r === 'files'))
    .map((s) => s.service);
  return {
    services,
    changed: [...changedSet].sort(),
    stopBeforeSwitch,
    restartAfterSwitch,
    stopBeforeRevert: [...stopBeforeSwitch.flat(), ...restartAfterSwitch],
  };
}

function imageOf(manifest: ReleaseManifest, service: string): string | undefined {
  const image = manifest.images[service];
  return image === undefined ? undefined : pinnedImageReference(image.image, image.digest);
}

/** Do the files under any of `paths` (a file or a folder of the release) differ between the two? */
function filesDiffer(a: ReleaseManifest, b: ReleaseManifest, paths: readonly string[]): boolean {
  if (paths.length === 0) return false;
  const under = (manifest: ReleaseManifest): string =>
    JSON.stringify(
      manifest.files
        .filter((f) => paths.some((p) => p === '' || f.path === p || f.path.startsWith(`${p}/`)))
        .map((f) => [f.path, f.sha256]),
    );
  return under(a) !== under(b);
}

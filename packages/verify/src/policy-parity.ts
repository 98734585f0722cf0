/**
 * Policy parity (pure): the policy hash the manifest signed, the sha256 of the policy file on the
 * host, and the policyHash each reporting service gives on its health endpoint must all agree;
 * each disagreement is a failure at its source.
 */
import type { ReleaseManifest } from '@titan/release/manifest';
import { excerpt, type HealthDocument } from './health-document.js';
import type { StackSnapshot } from './stack-probe.js';
import type { PolicyParity, PolicySource, VerifyFailure } from './verify-report.js';

export function evaluatePolicy(
  input: { readonly manifest: ReleaseManifest; readonly snapshot: Pick<StackSnapshot, 'policyFile'>; readonly policyReporters: readonly string[] },
  documents: ReadonlyMap<string, HealthDocument>,
  failures: VerifyFailure[],
): PolicyParity {
  const { manifest, snapshot } = input;
  const signed = manifest.policy.sha256;
  const sources: PolicySource[] = [{ source: 'manifest', sha256: signed, agrees: true, detail: 'signed' }];

  const file = snapshot.policyFile;
  if (file.state === 'present') {
    const agrees = file.sha256 === signed;
    sources.push({ source: 'host file', sha256: file.sha256, agrees, detail: file.path });
    if (!agrees) {
      failures.push({
        service: 'host',
        check: 'policy',
        detail: `${file.path} has sha256 ${file.sha256}; the manifest signed ${signed}: the file on the host is not the signed policy (edited on the host, or current/ is another release)`,
      });
    }
  } else {
    sources.push({ source: 'host file', agrees: false, detail: `${file.path} is ${file.state}` });
    failures.push({ service: 'host', check: 'policy', detail: `${file.path} is ${file.state}; the manifest signed ${manifest.policy.path} with sha256 ${signed}` });
  }

  const reporters = new Set(input.policyReporters.filter((s) => manifest.images[s] !== undefined));
  const reporting = [...new Set([...reporters, ...[...documents].filter(([, d]) => d.policyHash).map(([s]) => s)])].sort();
  for (const service of reporting) {
    const reported = documents.get(service)?.policyHash;
    if (reported === undefined || reported === '') {
      sources.push({ source: service, agrees: false, detail: 'no policyHash reported' });
      failures.push({ service, check: 'policy', detail: `${service} did not report a policyHash on its health endpoint (see its endpoint check); policy parity cannot be shown` });
      continue;
    }
    const agrees = reported === signed;
    sources.push({ source: service, sha256: reported, agrees, detail: agrees ? 'reported on /health' : 'reported on /health: differs' });
    if (!agrees) {
      failures.push({ service, check: 'policy', detail: `${service} reports policyHash ${excerpt(reported, 80)}; the manifest signed ${signed}: it loaded another policy` });
    }
  }
  return { path: manifest.policy.path, sha256: signed, sources, agree: sources.every((s) => s.agrees) };
}

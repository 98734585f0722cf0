import { readFile } from 'node:fs/promises';
import { SECRET_VARIABLE_FIELD, secretHostPath } from '@titan/release/stack-secrets';
import type { ComposeFile } from './compose-file.js';
import { parseDotenv } from './dotenv.js';
import type { Finding } from './finding.js';
import { entryOf, scalarText, type LocatedNode, type Place } from './located-yaml.js';

/**
 * The secrets the Compose files hand services as files (the secrets overlay, see
 * @titan/release/stack-secrets), checked before anything is built:
 *  - every secret a service names is declared under the top-level `secrets:`;
 *  - every declared secret is a `file:` source under the host's shared/ folder (`../shared/...`
 *    from the project directory `<app>/current`), never inline (`environment:`, `content:`), never
 *    Swarm's `external:`, never an absolute or interpolated path;
 *  - it names the production value it holds (`x-titan-variable`), which the env template declares;
 *    the gate then checks that value like every production value (gate.ts adds it to the required
 *    ones): set, no placeholder or default, long enough, carried as written;
 *  - that value reaches no service another way: no Compose file references the variable (it would be
 *    in `docker inspect` and `docker compose config`), and a `NAME_FILE: /run/secrets/<name>` variable
 *    names a secret its service mounts.
 * Findings name files, lines, secrets and variables, never a value.
 */
export interface SecretDeclaration {
  readonly name: string;
  readonly variable: string | undefined;
  readonly place: Place;
}

const VARIABLE = /^[A-Z_][A-Z0-9_]*$/;
const RUN_SECRETS = /^\/run\/secrets\/([^/]+)$/;

function finding(place: Place, message: string, fix: string, severity: Finding['severity'] = 'error'): Finding {
  return { check: 'secrets', severity, file: place.file, line: place.line, message, fix };
}

/** The top-level secret declarations of the files, later files winning field by field, each at its last place. */
function declarations(files: readonly ComposeFile[]): Map<string, { place: Place; fields: Map<string, LocatedNode>; keys: Map<string, Place> }> {
  const found = new Map<string, { place: Place; fields: Map<string, LocatedNode>; keys: Map<string, Place> }>();
  for (const file of files) {
    const secrets = entryOf(file.document.root, 'secrets')?.value;
    if (secrets?.kind !== 'map') continue;
    for (const [name, entry] of secrets.entries) {
      const current = found.get(name) ?? { place: entry.keyPlace, fields: new Map<string, LocatedNode>(), keys: new Map<string, Place>() };
      current.place = entry.keyPlace;
      if (entry.value.kind === 'map') {
        for (const [key, field] of entry.value.entries) {
          current.fields.set(key, field.value);
          current.keys.set(key, field.keyPlace);
        }
      }
      found.set(name, current);
    }
  }
  return found;
}

/** The secret names each service mounts, each with the place it is written. */
function mounts(files: readonly ComposeFile[]): { service: string; name: string | undefined; place: Place }[] {
  const out: { service: string; name: string | undefined; place: Place }[] = [];
  for (const file of files) {
    for (const [service, entry] of file.services?.entries ?? []) {
      const list = entryOf(entry.value, 'secrets')?.value;
      if (list?.kind !== 'seq') continue;
      for (const item of list.items) {
        const name = item.kind === 'map' ? scalarText(entryOf(item, 'source')?.value) : scalarText(item);
        out.push({ service, name, place: { file: item.file, line: item.line } });
      }
    }
  }
  return out;
}

export async function checkSecretFiles(files: readonly ComposeFile[], envTemplate: { path: string; file: string } | undefined): Promise<{ findings: Finding[]; declared: SecretDeclaration[] }> {
  const findings: Finding[] = [];
  const declared = declarations(files);
  const mounted = mounts(files);
  const templateNames = envTemplate === undefined ? undefined : await readFile(envTemplate.path, 'utf8').then((t) => new Set(parseDotenv(t, envTemplate.file).entries.map((e) => e.name)), () => undefined);

  for (const m of mounted) {
    if (m.name === undefined) findings.push(finding(m.place, `${m.service} names a secret without a source name`, 'Write the secret by name (`secrets: [binance_api_key]`) or as `{source: NAME}`'));
    else if (!declared.has(m.name)) findings.push(finding(m.place, `${m.service} mounts the secret ${m.name}, which no Compose file declares under the top-level secrets:`, `Declare it: secrets: { ${m.name}: { file: ../shared/secrets/${m.name}, ${SECRET_VARIABLE_FIELD}: VARIABLE } }`));
  }

  const result: SecretDeclaration[] = [];
  for (const [name, d] of declared) {
    const at = (key: string): Place => d.keys.get(key) ?? d.place;
    for (const inline of ['environment', 'content'] as const) {
      if (d.fields.has(inline)) findings.push(finding(at(inline), `secret ${name} takes its value from \`${inline}:\`, inline in the Compose model, where \`docker compose config\` shows it`, 'Keep the value in a file on the host: file: ../shared/secrets/' + name));
    }
    if (d.fields.has('external')) findings.push(finding(at('external'), `secret ${name} is external: only Docker Swarm has external secrets, Compose on the host cannot mount it`, `Use file: ../shared/secrets/${name}`));
    const file = scalarText(d.fields.get('file'));
    if (file === undefined) {
      if (!d.fields.has('environment') && !d.fields.has('content') && !d.fields.has('external')) findings.push(finding(d.place, `secret ${name} has no file: source`, `Add file: ../shared/secrets/${name}`));
    } else if (secretHostPath(file) === undefined) {
      findings.push(finding(at('file'), `secret ${name}'s file ${file} does not lie under the host's shared/ folder (sources are relative to the project directory <app>/current)`, `Keep it on the host: file: ../shared/secrets/${name} (no absolute path, no variable)`));
    }
    const variableNode = d.fields.get(SECRET_VARIABLE_FIELD);
    const variable = scalarText(variableNode);
    if (variable === undefined || !VARIABLE.test(variable)) {
      findings.push(finding(variableNode === undefined ? d.place : at(SECRET_VARIABLE_FIELD), `secret ${name} does not name the production value it holds (${SECRET_VARIABLE_FIELD})`, `Add ${SECRET_VARIABLE_FIELD}: VARIABLE, the variable of the production values the file holds (provision writes the file from it, the gate checks it)`));
    } else if (templateNames !== undefined && envTemplate !== undefined && !templateNames.has(variable)) {
      findings.push(finding(at(SECRET_VARIABLE_FIELD), `secret ${name} holds ${variable}, which ${envTemplate.file} does not declare`, `Declare ${variable}=__CHANGE_ME__ in ${envTemplate.file}`));
    }
    if (!mounted.some((m) => m.name === name)) findings.push(finding(d.place, `secret ${name} is declared but no service mounts it`, 'Mount it in the services that read it, or remove it', 'warning'));
    result.push({ name, variable: variable !== undefined && VARIABLE.test(variable) ? variable : undefined, place: d.place });
  }

  // The value reaches no service another way.
  const byVariable = new Map(result.filter((s) => s.variable !== undefined).map((s) => [s.variable as string, s.name]));
  for (const file of files) {
    for (const reference of file.references) {
      const secret = byVariable.get(reference.name);
      if (secret === undefined) continue;
      findings.push(finding(reference, `${reference.name}, which the secret file ${secret} holds, is also referenced here: its value would reach the container as text (docker inspect and docker compose config show it)`, `Remove the reference: the service reads /run/secrets/${secret} instead`));
    }
    for (const [service, entry] of file.services?.entries ?? []) {
      const environment = entryOf(entry.value, 'environment')?.value;
      for (const [key, node] of environmentEntries(environment)) {
        const path = scalarText(node);
        const target = path === undefined ? undefined : RUN_SECRETS.exec(path)?.[1];
        if (target === undefined) continue;
        if (!mounted.some((m) => m.service === service && m.name === target)) {
          findings.push(finding(node, `${service}'s ${key} points at /run/secrets/${target}, a secret the service does not mount`, `Add ${target} to ${service}'s secrets:`));
        }
      }
    }
  }
  return { findings, declared: result };
}

/** A service's `environment:` as (name, value node) pairs, for the mapping form and the `NAME=value` list form. */
function environmentEntries(node: LocatedNode | undefined): [string, LocatedNode][] {
  if (node?.kind === 'map') return [...node.entries].map(([key, entry]) => [key, entry.value]);
  if (node?.kind !== 'seq') return [];
  return node.items.flatMap((item): [string, LocatedNode][] => {
    const text = scalarText(item);
    const eq = text?.indexOf('=') ?? -1;
    if (text === undefined || eq <= 0) return [];
    return [[text.slice(0, eq), { ...item, kind: 'scalar', value: text.slice(eq + 1), tag: undefined }]];
  });
}

import { describe, expect, it } from 'vitest';
import { parseComposeText } from '@titan/gatekeeper/compose-file';
import { findVariableReferences, interpolate } from '@titan/gatekeeper/compose-interpolation';
import { mergeComposeFiles, plainValue } from '@titan/gatekeeper/compose-merge';
import { addressScope, parsePortEntry } from '@titan/gatekeeper/compose-ports';
import { entryOf } from '@titan/gatekeeper/located-yaml';

function merge(...texts: string[]) {
  return mergeComposeFiles(texts.map((t, i) => parseComposeText(t, `f${i + 1}.yml`)));
}

function service(texts: string[], name = 'app') {
  const found = merge(...texts).services.get(name);
  if (found === undefined) throw new Error(`no service ${name}`);
  return found;
}

describe('Compose merge (the rules Compose applies to -f a.yml -f b.yml)', () => {
  it('merges mappings key by key; the later scalar wins and keeps its own file and line', () => {
    const app = service(['services:\n  app:\n    image: a:1\n    restart: "no"\n', 'services:\n  app:\n    restart: always\n']);
    expect(plainValue(app.config)).toEqual({ image: 'a:1', restart: 'always' });
    expect(entryOf(app.config, 'restart')?.value).toMatchObject({ file: 'f2.yml', line: 3 });
    expect(entryOf(app.config, 'image')?.value).toMatchObject({ file: 'f1.yml', line: 3 });
    expect(app.definitions).toEqual([
      { file: 'f1.yml', line: 2 },
      { file: 'f2.yml', line: 2 },
    ]);
  });

  it('environment as a list and as a map merge by variable', () => {
    const app = service(['services:\n  app:\n    environment:\n      - A=1\n      - B=2\n', 'services:\n  app:\n    environment:\n      B: "3"\n      C: "4"\n']);
    expect(plainValue(entryOf(app.config, 'environment')!.value)).toEqual({ A: '1', B: '3', C: '4' });
  });

  it('ports are appended; an entry with the same address, ports and protocol is replaced', () => {
    const app = service(['services:\n  app:\n    ports: ["127.0.0.1:80:80", "443:443"]\n', 'services:\n  app:\n    ports:\n      - "127.0.0.1:80:80"\n      - "127.0.0.1:8443:443"\n']);
    const ports = entryOf(app.config, 'ports')!.value;
    expect(plainValue(ports)).toEqual(['443:443', '127.0.0.1:80:80', '127.0.0.1:8443:443']);
    expect(ports.kind === 'seq' && ports.items.map((p) => `${p.file}:${p.line}`)).toEqual(['f1.yml:3', 'f2.yml:4', 'f2.yml:5']);
  });

  it('command and healthcheck.test are replaced, never appended; other healthcheck keys merge', () => {
    const app = service([
      'services:\n  app:\n    command: ["a", "b"]\n    healthcheck:\n      test: ["CMD", "x"]\n      interval: 5s\n',
      'services:\n  app:\n    command: ["c"]\n    healthcheck:\n      test: ["CMD", "y"]\n      retries: 3\n',
    ]);
    expect(plainValue(app.config)).toEqual({ command: ['c'], healthcheck: { test: ['CMD', 'y'], interval: '5s', retries: 3 } });
  });

  it('a later healthcheck with disable: true replaces the earlier one whole', () => {
    const app = service(['services:\n  app:\n    healthcheck:\n      test: ["CMD", "x"]\n', 'services:\n  app:\n    healthcheck:\n      disable: true\n']);
    expect(plainValue(entryOf(app.config, 'healthcheck')!.value)).toEqual({ disable: true });
  });

  it('logging: options merge under the same driver, and are replaced when the driver changes', () => {
    const same = service(['services:\n  app:\n    logging:\n      driver: json-file\n      options: { max-size: 1m }\n', 'services:\n  app:\n    logging:\n      options: { max-file: "2" }\n']);
    expect(plainValue(entryOf(same.config, 'logging')!.value)).toEqual({ driver: 'json-file', options: { 'max-size': '1m', 'max-file': '2' } });
    const changed = service(['services:\n  app:\n    logging:\n      driver: syslog\n      options: { tag: x }\n', 'services:\n  app:\n    logging:\n      driver: json-file\n']);
    expect(plainValue(entryOf(changed.config, 'logging')!.value)).toEqual({ driver: 'json-file' });
  });

  it('volumes merge by container path; dns (string or list) is appended', () => {
    const app = service(['services:\n  app:\n    volumes: ["a:/data", "./x:/x:ro"]\n    dns: 1.1.1.1\n', 'services:\n  app:\n    volumes: ["b:/data"]\n    dns: [8.8.8.8]\n']);
    expect(plainValue(app.config)).toEqual({ volumes: ['./x:/x:ro', 'b:/data'], dns: ['1.1.1.1', '8.8.8.8'] });
  });

  it('!reset removes a value, !override replaces it without merging', () => {
    const app = service(['services:\n  app:\n    ports: ["1:1"]\n    build: .\n', 'services:\n  app:\n    ports: !override ["2:2"]\n    build: !reset null\n']);
    expect(plainValue(app.config)).toEqual({ ports: ['2:2'] });
  });

  it('YAML anchors and merge keys: the value keeps the line where the anchor wrote it', () => {
    const text = 'x-logging: &logging\n  driver: json-file\n  options:\n    max-size: 10m\nservices:\n  app:\n    logging: *logging\n  other:\n    <<: { restart: always }\n    image: o\n';
    const merged = merge(text);
    const logging = entryOf(merged.services.get('app')!.config, 'logging')!;
    expect(logging.keyPlace.line).toBe(7);
    expect(entryOf(logging.value, 'options')!.keyPlace.line).toBe(3);
    expect(plainValue(merged.services.get('other')!.config)).toEqual({ image: 'o', restart: 'always' });
  });
});

describe('interpolation', () => {
  it('finds every form of reference, and not $$ escapes', () => {
    const refs = findVariableReferences('$A ${B} ${C:-x} ${D-y} ${E:?must} ${F?m} ${G:+z} $$H ${I:-${J}}');
    expect(refs.map((r) => `${r.name}${r.operator}`)).toEqual(['A', 'B', 'C:-', 'D-', 'E:?', 'F?', 'G:+', 'I:-', 'J']);
  });

  it('resolves with known values, then defaults; unknown ones are kept and listed', () => {
    expect(interpolate('${R:-127.0.0.1:5000/titan}/x:latest')).toEqual({ text: '127.0.0.1:5000/titan/x:latest', unresolved: [] });
    expect(interpolate('${R:-a}/x', new Map([['R', 'reg']])).text).toBe('reg/x');
    expect(interpolate('${IP:?set it}:4222:4222 $$HOME')).toEqual({ text: '${IP:?set it}:4222:4222 $HOME', unresolved: ['IP'] });
  });

  it('reports the line of a reference inside a block scalar', () => {
    const file = parseComposeText('services:\n  app:\n    command: |\n      echo one\n      echo ${SECRET}\n', 'f.yml');
    expect(file.references).toEqual([expect.objectContaining({ name: 'SECRET', line: 5 })]);
  });
});

describe('ports', () => {
  const port = (text: string) => parsePortEntry({ kind: 'scalar', value: text, tag: undefined, file: 'f', line: 1 }, new Map());
  it('reads the short syntax', () => {
    expect(port('127.0.0.1:80:8080/udp')).toMatchObject({ hostIp: '127.0.0.1', published: '80', target: '8080', protocol: 'udp' });
    expect(port('80:8080')).toMatchObject({ hostIp: undefined, published: '80', target: '8080' });
    expect(port('3000')).toMatchObject({ hostIp: undefined, published: undefined, target: '3000' });
    expect(port('[::1]:80:80')).toMatchObject({ hostIp: '::1', published: '80', target: '80' });
  });
  it('classifies addresses', () => {
    expect(['127.0.0.1', '10.1.2.3', '172.20.0.1', '172.32.0.1', '192.168.1.1', '0.0.0.0', undefined, '::1'].map(addressScope)).toEqual([
      'loopback',
      'private',
      'private',
      'public',
      'private',
      'all',
      'all',
      'loopback',
    ]);
  });
});

/**
 * A stand-in for the part of GitHub's REST API the workflows touch, on 127.0.0.1: the commit's
 * check runs and statuses (the readiness gate's CI check), deployments with their statuses, and
 * environment secrets (environment-secrets.ts: sealed boxes opened with a real key pair, so a test
 * reads what GitHub would store).
 * Each job's GITHUB_TOKEN is issued here with the job's `permissions:`; a call beyond them is
 * answered 403 "Resource not accessible by integration", as GitHub answers it. Jobs that name an
 * environment get GitHub's automatic deployment (unless `deployment: false`), recorded next to the
 * ones the actions create, so a test sees every deployment a run made. A run's artifacts are listed
 * (GET .../actions/runs/ID/artifacts, `expired` included) from the runner that serves them.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ArtifactStore } from './artifact-store.js';
import { environmentSecretRoutes, type SecretWrite } from './environment-secrets.js';
import { type Route, str } from './github-route.js';

export type { SecretWrite } from './environment-secrets.js';

export type PermissionLevel = 'read' | 'write' | 'none';
export type Permissions = Readonly<Record<string, PermissionLevel>>;

export interface DeploymentStatusRecord {
  readonly state: string;
  readonly description: string | undefined;
  readonly environmentUrl: string | undefined;
  readonly logUrl: string | undefined;
}

export interface DeploymentRecord {
  readonly id: number;
  readonly environment: string;
  readonly ref: string;
  /** `workflow` for the deployment GitHub makes for a job with `environment:`, `api` for one an action created. */
  readonly createdBy: 'workflow' | 'api';
  readonly runId: string;
  readonly payload: unknown;
  readonly statuses: DeploymentStatusRecord[];
}

export interface CheckRunRecord {
  readonly name: string;
  readonly status: 'queued' | 'in_progress' | 'completed';
  readonly conclusion: string | null;
}

export interface GitHubApiStandIn {
  readonly url: string;
  readonly deployments: DeploymentRecord[];
  /** Every environment secret written, in order, decrypted. */
  readonly secretWrites: SecretWrite[];
  /** Check runs reported for every commit (default: one completed, successful `test`). */
  checkRuns: CheckRunRecord[];
  /** Requests refused for missing permissions, e.g. `POST /repos/o/r/deployments needs deployments: write`. */
  readonly refusals: string[];
  issueToken(permissions: Permissions, runId: string): string;
  /** Whether `token` is one issued here with at least `level` on `scope` (a refusal is recorded). */
  allows(token: string, scope: string, level: 'read' | 'write', what: string): boolean;
  /** What GitHub does for a job with `environment:` (deployment created, then in_progress). */
  createWorkflowDeployment(input: { environment: string; ref: string; runId: string; url?: string }): DeploymentRecord;
  addStatus(deployment: DeploymentRecord, state: string, description?: string): void;
  /** Where the runs' artifacts are (the local runner that keeps them registers itself). */
  serveArtifacts(lookup: (runId: number) => Promise<ArtifactStore | undefined>): void;
  close(): Promise<void>;
}

export async function startGitHubApiStandIn(): Promise<GitHubApiStandIn> {
  const tokens = new Map<string, { permissions: Permissions; runId: string }>();
  const deployments: DeploymentRecord[] = [];
  const refusals: string[] = [];
  const secretWrites: SecretWrite[] = [];
  let nextId = 1000;
  const state = { checkRuns: [{ name: 'test', status: 'completed', conclusion: 'success' }] as CheckRunRecord[] };

  const create = (input: { environment: string; ref: string; runId: string; payload?: unknown; createdBy: 'workflow' | 'api' }): DeploymentRecord => {
    const record: DeploymentRecord = { id: nextId++, environment: input.environment, ref: input.ref, createdBy: input.createdBy, runId: input.runId, payload: input.payload ?? {}, statuses: [] };
    deployments.push(record);
    return record;
  };
  const deploymentJson = (d: DeploymentRecord): unknown => ({ id: d.id, environment: d.environment, ref: d.ref, sha: d.ref, payload: d.payload });

  let artifactsOf: (runId: number) => Promise<ArtifactStore | undefined> = () => Promise.resolve(undefined);
  const routes: Route[] = [
    ...(await environmentSecretRoutes(secretWrites)),
    {
      method: 'GET',
      pattern: /^\/repos\/[^/]+\/[^/]+\/commits\/([^/]+)\/check-runs$/,
      scope: 'checks',
      level: 'read',
      handle: () => [200, { total_count: state.checkRuns.length, check_runs: state.checkRuns.map((c, i) => ({ id: i + 1, ...c, app: { slug: 'github-actions' }, details_url: `https://github.com/ci/${i + 1}` })) }],
    },
    {
      method: 'GET',
      pattern: /^\/repos\/[^/]+\/[^/]+\/commits\/([^/]+)\/status$/,
      scope: 'statuses',
      level: 'read',
      handle: (m) => [200, { state: 'success', sha: m[1], total_count: 0, statuses: [] }],
    },
    {
      method: 'POST',
      pattern: /^\/repos\/[^/]+\/[^/]+\/deployments$/,
      scope: 'deployments',
      level: 'write',
      handle: (_m, body, runId) => {
        const environment = str(body['environment']) ?? 'production';
        const record = create({ environment, ref: str(body['ref']) ?? '', runId, payload: body['payload'], createdBy: 'api' });
        return [201, deploymentJson(record)];
      },
    },
    {
      method: 'GET',
      pattern: /^\/repos\/[^/]+\/[^/]+\/deployments$/,
      scope: 'deployments',
      level: 'read',
      // As GitHub lists them: newest first, filtered by environment, a page at a time.
      handle: (_m, _body, _runId, query) => {
        const environment = query.get('environment');
        const perPage = Math.min(Number(query.get('per_page') ?? '30') || 30, 100);
        const page = Math.max(Number(query.get('page') ?? '1') || 1, 1);
        const listed = [...deployments].reverse().filter((d) => environment === null || d.environment === environment);
        return [200, listed.slice((page - 1) * perPage, page * perPage).map(deploymentJson)];
      },
    },
    {
      method: 'POST',
      pattern: /^\/repos\/[^/]+\/[^/]+\/deployments\/(\d+)\/statuses$/,
      scope: 'deployments',
      level: 'write',
      handle: (m, body) => {
        const record = deployments.find((d) => d.id === Number(m[1]));
        if (record === undefined) return [404, { message: 'Not Found' }];
        record.statuses.push({ state: str(body['state']) ?? '', description: str(body['description']), environmentUrl: str(body['environment_url']), logUrl: str(body['log_url']) });
        return [201, { id: record.statuses.length, state: body['state'] }];
      },
    },
    {
      method: 'GET',
      pattern: /^\/repos\/[^/]+\/[^/]+\/deployments\/(\d+)\/statuses$/,
      scope: 'deployments',
      level: 'read',
      handle: (m, _body, _runId, query) => {
        const record = deployments.find((d) => d.id === Number(m[1]));
        if (record === undefined) return [404, { message: 'Not Found' }];
        const perPage = Math.min(Number(query.get('per_page') ?? '30') || 30, 100);
        return [200, [...record.statuses].reverse().slice(0, perPage).map((s, i) => ({ id: i + 1, state: s.state, description: s.description, environment_url: s.environmentUrl, log_url: s.logUrl }))];
      },
    },
    {
      method: 'GET',
      pattern: /^\/repos\/[^/]+\/[^/]+\/actions\/runs\/(\d+)\/artifacts$/,
      scope: 'actions',
      level: 'read',
      handle: async (m, _body, _runId, query) => {
        const store = await artifactsOf(Number(m[1]));
        if (store === undefined) return [404, { message: 'Not Found' }];
        const name = query.get('name');
        const listed = (await store.list()).filter((a) => name === null || a.name === name);
        const artifacts = listed.map((a, i) => ({ id: i + 1, name: a.name, expired: a.expired, created_at: a.createdAt, expires_at: a.expiresAt, workflow_run: { id: Number(m[1]) } }));
        return [200, { total_count: artifacts.length, artifacts }];
      },
    },
  ];

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      const send = (status: number, value: unknown): void => {
        res.statusCode = status;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(value));
      };
      const [path = '', search = ''] = (req.url ?? '').split('?');
      const route = routes.find((r) => r.method === req.method && r.pattern.test(path));
      if (route === undefined) return send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
      const auth = /^(?:token|Bearer) (\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      const holder = auth === undefined ? undefined : tokens.get(auth);
      if (holder === undefined) return send(401, { message: 'Bad credentials' });
      const granted = holder.permissions[route.scope] ?? 'none';
      if (granted === 'none' || (route.level === 'write' && granted !== 'write')) {
        refusals.push(`${req.method ?? ''} ${path} needs ${route.scope}: ${route.level}`);
        return send(403, { message: 'Resource not accessible by integration' });
      }
      let body: Record<string, unknown>;
      try {
        body = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
      } catch {
        return send(400, { message: 'Problems parsing JSON' });
      }
      Promise.resolve(route.handle(route.pattern.exec(path) as RegExpExecArray, body, holder.runId, new URLSearchParams(search))).then(
        ([status, value]) => send(status, value),
        (error: unknown) => send(500, { message: error instanceof Error ? error.message : String(error) }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    deployments,
    secretWrites,
    refusals,
    get checkRuns() {
      return state.checkRuns;
    },
    set checkRuns(value) {
      state.checkRuns = value;
    },
    issueToken(permissions, runId) {
      const token = `ghs_${randomBytes(18).toString('hex')}`;
      tokens.set(token, { permissions, runId });
      return token;
    },
    allows(token, scope, level, what) {
      const granted = tokens.get(token)?.permissions[scope] ?? 'none';
      const ok = granted === 'write' || (granted === 'read' && level === 'read');
      if (!ok) refusals.push(`${what} needs ${scope}: ${level}`);
      return ok;
    },
    createWorkflowDeployment(input) {
      const record = create({ ...input, createdBy: 'workflow' });
      record.statuses.push({ state: 'in_progress', description: undefined, environmentUrl: input.url, logUrl: undefined });
      return record;
    },
    addStatus(deployment, stateName, description) {
      deployment.statuses.push({ state: stateName, description, environmentUrl: undefined, logUrl: undefined });
    },
    serveArtifacts(lookup) {
      artifactsOf = lookup;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

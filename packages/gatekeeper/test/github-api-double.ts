import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the two GitHub REST endpoints the CI check reads, answering on the real
 * paths with payloads shaped like GitHub's (check runs of GitHub Actions, commit statuses), paged
 * with `Link` headers as GitHub pages them. GitHub itself cannot be reached from here; with this,
 * the client under test makes real HTTP round trips.
 */
export interface CheckRunSpec {
  name: string;
  status: 'queued' | 'in_progress' | 'completed' | 'waiting' | 'pending';
  conclusion?: 'success' | 'failure' | 'neutral' | 'cancelled' | 'skipped' | 'timed_out' | 'action_required' | null;
  /** The workflow run the check run belongs to (GitHub Actions check runs link to it). */
  runId?: number;
  id?: number;
}

export interface StatusSpec {
  context: string;
  state: 'success' | 'failure' | 'error' | 'pending';
  description?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
}

export interface GitHubApiDouble {
  baseUrl: string;
  requests: RecordedRequest[];
  set(commit: { checkRuns: CheckRunSpec[]; statuses?: StatusSpec[] }): void;
  close(): Promise<void>;
}

const OWNER = 'titan';
const REPO = 'titan-stack';
export const REPOSITORY = { owner: OWNER, repo: REPO };

export async function startGitHubApiDouble(sha: string): Promise<GitHubApiDouble> {
  let checkRuns: CheckRunSpec[] = [];
  let statuses: StatusSpec[] = [];
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push({ method: req.method ?? '', path: `${url.pathname}${url.search}`, authorization: req.headers.authorization });
    const page = Number(url.searchParams.get('page') ?? '1');
    const perPage = Math.min(100, Number(url.searchParams.get('per_page') ?? '30'));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const prefix = `/repos/${OWNER}/${REPO}/commits/${sha}`;
    if (req.method === 'GET' && url.pathname === `${prefix}/check-runs`) {
      const all = checkRuns.map((spec, index) => checkRunPayload(spec, index, sha, base));
      const slice = all.slice((page - 1) * perPage, page * perPage);
      const last = Math.max(1, Math.ceil(all.length / perPage));
      const headers: Record<string, string> = {};
      if (page < last) {
        const link = (p: number) => `<${base}${url.pathname}?per_page=${perPage}&page=${p}>`;
        headers['link'] = `${link(page + 1)}; rel="next", ${link(last)}; rel="last"`;
      }
      return json(res, 200, { total_count: all.length, check_runs: slice }, headers);
    }
    if (req.method === 'GET' && url.pathname === `${prefix}/status`) {
      const all = statuses.map((spec, index) => statusPayload(spec, index, base));
      const slice = all.slice((page - 1) * perPage, page * perPage);
      const state = all.length === 0 || statuses.some((s) => s.state === 'pending') ? 'pending' : statuses.every((s) => s.state === 'success') ? 'success' : 'failure';
      return json(res, 200, {
        state,
        statuses: slice,
        sha,
        total_count: all.length,
        repository: { id: 1296269, name: REPO, full_name: `${OWNER}/${REPO}`, private: true },
        commit_url: `${base}/repos/${OWNER}/${REPO}/commits/${sha}`,
        url: `${base}${prefix}/status`,
      });
    }
    return json(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    set(commit) {
      checkRuns = commit.checkRuns;
      statuses = commit.statuses ?? [];
    },
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-github-api-version-selected': '2022-11-28', ...headers });
  res.end(JSON.stringify(body));
}

function checkRunPayload(spec: CheckRunSpec, index: number, sha: string, base: string): Record<string, unknown> {
  const id = spec.id ?? 30_000_000_000 + index;
  const runId = spec.runId ?? 12_000_000_000 + index;
  const jobId = 34_000_000_000 + index;
  const html = `https://github.com/${OWNER}/${REPO}/actions/runs/${runId}/job/${jobId}`;
  const completed = spec.status === 'completed';
  return {
    id,
    name: spec.name,
    node_id: `CR_kwDO${id}`,
    head_sha: sha,
    external_id: `ca395085-040a-526b-2ce8-bdc85f692774-${index}`,
    url: `${base}/repos/${OWNER}/${REPO}/check-runs/${id}`,
    html_url: html,
    details_url: html,
    status: spec.status,
    conclusion: completed ? (spec.conclusion ?? 'success') : null,
    started_at: '2026-11-23T10:00:00Z',
    completed_at: completed ? '2026-11-23T10:03:12Z' : null,
    output: { title: null, summary: null, text: null, annotations_count: 0, annotations_url: `${base}/repos/${OWNER}/${REPO}/check-runs/${id}/annotations` },
    check_suite: { id: 31_000_000_000 + runId },
    app: { id: 15368, client_id: 'Iv1.05c79e9ad1f6bdfa', slug: 'github-actions', node_id: 'MDM6QXBwMTUzNjg=', name: 'GitHub Actions', owner: { login: 'github', id: 9919, type: 'Organization' } },
    pull_requests: [],
  };
}

function statusPayload(spec: StatusSpec, index: number, base: string): Record<string, unknown> {
  return {
    url: `${base}/repos/${OWNER}/${REPO}/statuses/${index}`,
    avatar_url: 'https://avatars.githubusercontent.com/oa/4808?v=4',
    id: 27_000_000_000 + index,
    node_id: `SC_kwDO${index}`,
    state: spec.state,
    description: spec.description ?? null,
    target_url: `https://ci.titan.example/builds/${index}`,
    context: spec.context,
    created_at: '2026-11-23T10:00:00Z',
    updated_at: '2026-11-23T10:02:00Z',
  };
}

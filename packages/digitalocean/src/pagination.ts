/**
 * DigitalOcean's lists come in pages (`page`, `per_page` up to 200, `links.pages.next`,
 * `meta.total`). listAll reads every page of one list, in order, and stops on the first page that
 * has no `next` link or once `meta.total` items are in (whichever comes first), with a bound on the
 * number of pages so a misbehaving answer cannot loop forever.
 */
import { expectData, type ApiResult } from './client.js';

export const PER_PAGE = 200;
const MAX_PAGES = 500;

interface PagedBody {
  readonly links?: { readonly pages?: unknown };
  readonly meta?: { readonly total?: number };
}

export async function listAll<B extends PagedBody, T>(
  operation: string,
  fetchPage: (page: number, perPage: number) => Promise<ApiResult<B>>,
  items: (body: B) => readonly T[] | undefined,
  perPage: number = PER_PAGE,
): Promise<T[]> {
  const all: T[] = [];
  for (let page = 1; page <= MAX_PAGES; page++) {
    const body = expectData(`${operation} (page ${page})`, await fetchPage(page, perPage));
    const batch = items(body) ?? [];
    all.push(...batch);
    const pages = body.links?.pages as { next?: unknown } | undefined;
    const hasNext = typeof pages?.next === 'string' && pages.next !== '';
    const total = body.meta?.total;
    if (!hasNext || batch.length === 0 || (total !== undefined && all.length >= total)) return all;
  }
  throw new Error(`${operation}: more than ${MAX_PAGES} pages of ${perPage}; refusing to read further`);
}

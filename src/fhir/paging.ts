// Following a search's `next` links safely: only links on the configured server (scheme, host, port
// and base path), never a page twice, and at most a set number of pages. A server that answers
// otherwise ends the read with a clear error instead of leaking the token or looping. Node-RED-free.
import type { Bundle } from '@medplum/fhirtypes';

/** Default cap on the pages of one search. */
export const DEFAULT_MAX_PAGES = 10_000;

/** Whether `url` lies on the server whose base URL is `base` (same origin, under its base path). */
export function isUnderBase(url: string, base: string): boolean {
  let u: URL;
  let b: URL;
  try {
    u = new URL(url);
    b = new URL(base);
  } catch {
    return false;
  }
  const path = b.pathname.replace(/\/+$/, '');
  return u.origin === b.origin && (u.pathname === path || u.pathname.startsWith(`${path}/`));
}

/** Checks each page's next link of one search before it is followed. */
export class Pager {
  private readonly seen = new Set<string>();
  private pages = 1;

  constructor(
    private readonly base: string,
    private readonly maxPages = DEFAULT_MAX_PAGES,
  ) {}

  /** The next link of `page`, checked; undefined on the last page. Throws when it must not be followed. */
  next(page: Bundle): string | undefined {
    const link = page.link?.find((l) => l.relation === 'next')?.url;
    if (!link) return undefined;
    if (!isUnderBase(link, this.base)) {
      let host: string;
      try {
        host = new URL(link).host || link;
      } catch {
        host = link;
      }
      throw new Error(`the server's next link points to ${host}, outside ${this.base}: not followed`);
    }
    if (this.seen.has(link)) throw new Error(`the server's next link repeats an earlier page (${link}): stopped after ${this.pages} pages`);
    if (this.pages >= this.maxPages) throw new Error(`more than ${this.maxPages} pages (the page limit): stopped`);
    this.seen.add(link);
    this.pages++;
    return link;
  }
}

/**
 * A search's pages from its first, following only the next links `pager` lets through; `nextPage` fetches
 * one. The next page is asked for before the current one is handed on, so the server works on it while
 * the caller reads this one; a refused link or a failed request surfaces after the current page.
 */
export async function* followPages(first: Bundle, pager: Pager, nextPage: (page: Bundle) => Promise<Bundle>): AsyncGenerator<Bundle> {
  let page: Bundle | undefined = first;
  while (page) {
    let next: Promise<Bundle | undefined>;
    try {
      next = pager.next(page) ? nextPage(page) : Promise.resolve(undefined);
    } catch (err) {
      next = Promise.reject(err);
    }
    // Settled later: not an unhandled rejection while the caller reads the current page.
    next.catch(() => undefined);
    yield page;
    page = await next;
  }
}

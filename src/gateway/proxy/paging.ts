// Paging links bound to the user they were given to and to the search they continue. The gateway appends
// `_gw=<expiry>.<types>.<HMAC>` to the next/previous/first/last links of the answer to a search it forwarded itself,
// signing the link's path and query with the user's sub and the resource types searched (whose roles are checked
// again when the link is followed); a request carrying `_gw` is forwarded only when the signature matches the same
// path, query, types and sub. Links to plain searches (the backend
// pages with `_offset`) are searches the data-access step re-authorises anyway; opaque server-side page ids
// (HAPI `_getpages`, Google Cloud Healthcare `_page_token`, Azure continuation tokens `ct`) are not, so a request
// with one of them must carry a valid `_gw`.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Bundle } from '@medplum/fhirtypes';
import { GatewayDenial } from '../http/denial.js';
import type { GatewayRequest } from '../http/request.js';
import { param, parseQuery, withoutParams } from '../http/request.js';

export interface PagingOptions {
  /** The gateway's FHIR base as in the (already rewritten) links. */
  publicBase: string;
  /** HMAC key; gateways behind one load balancer need the same. Default: random per process (links die with it). */
  secret?: string | Buffer;
  /** How long a link stays usable, in seconds (default one hour, as HAPI keeps its pages). */
  ttlSec?: number;
  /** Clock in ms, for tests. */
  now?: () => number;
}

/** The query parameter that carries the binding. */
const BINDING_PARAM = '_gw';
const PAGING_RELATIONS = new Set(['next', 'previous', 'prev', 'first', 'last']);
/** A paging link as a backend writes it in JSON: where none is, there is nothing to sign and no need to parse. */
const PAGING_LINK_TEXT = /"relation"\s*:\s*"(?:next|previous|prev|first|last)"/;

/** Whether a JSON answer's text may hold a paging link to sign (a resource holding such text only costs a parse). */
export function mayHoldPagingLinks(text: string): boolean {
  return PAGING_LINK_TEXT.test(text);
}
/** Parameters naming a page the backend keeps (its search hidden in the value): HAPI, Google Cloud Healthcare, Azure. */
const OPAQUE_PAGE_PARAMS = ['_getpages', '_page_token', 'ct'];
const DEFAULT_TTL_SEC = 3600;

type Query = Record<string, string[]>;

/** Whether the query names a page the backend keeps (`_getpages`, `_page_token`, `ct`) rather than a search. */
export function isOpaquePage(query: Query): boolean {
  return OPAQUE_PAGE_PARAMS.some((name) => param(query, name) !== undefined);
}

export class PagingBinder {
  private readonly publicBase: string;
  private readonly key: Buffer;
  private readonly ttlSec: number;
  private readonly now: () => number;

  constructor(options: PagingOptions) {
    this.publicBase = options.publicBase.replace(/\/+$/, '');
    this.key = options.secret === undefined ? randomBytes(32) : Buffer.from(options.secret);
    this.ttlSec = options.ttlSec ?? DEFAULT_TTL_SEC;
    this.now = options.now ?? Date.now;
  }

  /** Sign the bundle's paging links under the gateway's base for `sub`, continuing a search of `types` (in place); returns the bundle. */
  bindLinks(bundle: Bundle, sub: string, types: readonly string[]): Bundle {
    const expires = Math.floor(this.now() / 1000) + this.ttlSec;
    const searched = types.join(',');
    for (const link of bundle.link ?? []) {
      if (!link.url || !PAGING_RELATIONS.has(link.relation ?? '')) continue;
      const path = this.relativePath(link.url);
      if (path === undefined) continue;
      const url = new URL(link.url);
      url.searchParams.delete(BINDING_PARAM);
      url.searchParams.append(
        BINDING_PARAM,
        `${expires}.${searched}.${this.mac(expires, searched, sub, path, parseQuery(url.searchParams))}`,
      );
      link.url = url.href;
    }
    return bundle;
  }

  /**
   * The request's query without `_gw`, and the resource types of the search a `_gw` link continues, after checking
   * that `_gw` was issued to `sub` for exactly this path and query and has not expired; 403 otherwise, and for
   * an opaque page id (`_getpages`, `_page_token`, `ct`) without `_gw`.
   */
  checkBinding(req: Pick<GatewayRequest, 'path' | 'query'>, sub: string): { query: Query; types?: string[] } {
    const query = withoutParams(req.query, (name) => name === BINDING_PARAM);
    const binding = param(req.query, BINDING_PARAM);
    if (binding === undefined) {
      if (isOpaquePage(query)) throw new GatewayDenial(403, 'forbidden', 'paging link without a binding to its user');
      return { query };
    }
    const [expires, searched, mac] = binding.length === 1 ? binding[0].split('.') : [];
    const valid =
      mac !== undefined &&
      /^\d+$/.test(expires) &&
      /^[A-Za-z]+(,[A-Za-z]+)*$/.test(searched) &&
      this.equal(mac, this.mac(Number(expires), searched, sub, req.path.replace(/\/+$/, ''), query));
    if (!valid) throw new GatewayDenial(403, 'forbidden', 'paging link was issued to another user or was altered');
    if (Number(expires) * 1000 < this.now()) throw new GatewayDenial(403, 'forbidden', 'paging link has expired');
    return { query, types: searched.split(',') };
  }

  /** The link's path relative to the public base, or undefined for links elsewhere. */
  private relativePath(link: string): string | undefined {
    const [beforeQuery] = link.split(/[?#]/);
    if (beforeQuery === this.publicBase) return '';
    if (!beforeQuery.startsWith(`${this.publicBase}/`)) return undefined;
    return beforeQuery.slice(this.publicBase.length + 1).replace(/\/+$/, '');
  }

  private mac(expires: number, types: string, sub: string, path: string, query: Query): string {
    // Parameter order is irrelevant to a FHIR search, the order of one parameter's values is kept.
    const canonical = Object.keys(query)
      .filter((name) => name !== BINDING_PARAM)
      .sort()
      .map((name) => [name, query[name]]);
    return createHmac('sha256', this.key)
      .update(JSON.stringify([expires, types, sub, path, canonical]))
      .digest('base64url');
  }

  private equal(a: string, b: string): boolean {
    const [x, y] = [Buffer.from(a), Buffer.from(b)];
    return x.length === y.length && timingSafeEqual(x, y);
  }
}

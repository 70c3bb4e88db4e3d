// Backend URLs in answers become gateway URLs: in JSON and XML bodies and in Location / Content-Location,
// so a client never sees (or follows) the backend's address.
import type { BackendResponse } from './backend.js';

export interface RewriteOptions {
  /** The backend's FHIR base URL. */
  backendBase: string;
  /** The gateway's FHIR base URL as clients reach it. */
  publicBase: string;
  /** Other bases under which the backend names itself (another host name, a proxy in front of it). */
  aliases?: string[];
}

const REWRITTEN_HEADERS = ['location', 'content-location'];

/** A base without user info, query or trailing '/'. */
function normalise(base: string): string {
  const url = new URL(base);
  return `${url.protocol}//${url.host}${url.pathname}`.replace(/\/+$/, '');
}

/** The same base under the other scheme: backends often name themselves http behind a TLS terminator, or the reverse. */
function otherScheme(base: string): string {
  return base.startsWith('https:') ? `http:${base.slice(6)}` : `https:${base.slice(5)}`;
}

/** Whether a body of this media type is text the gateway rewrites (JSON or XML, FHIR or plain). */
export function isTextBody(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  return /^(application|text)\/([\w.-]+\+)?(json|xml)$/.test(type);
}

export class UrlRewriter {
  readonly publicBase: string;
  private readonly pattern: RegExp;
  /** The public base as a replacement string ('$' escaped), which String.replace inserts without calling back per match. */
  private readonly replacement: string;

  constructor(options: RewriteOptions) {
    this.publicBase = normalise(options.publicBase);
    this.replacement = this.publicBase.replaceAll('$', '$$$$');
    const backend = [options.backendBase, ...(options.aliases ?? [])].map(normalise);
    const bases = [...new Set([...backend, ...backend.map(otherScheme), this.publicBase])];
    // Longest first, so that of two bases where one extends the other the more specific wins. The public base is
    // among them so that it is kept where it already stands (rewriting twice changes nothing).
    bases.sort((a, b) => b.length - a.length);
    const escaped = bases.map((b) => b.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    // A base must end where a path segment ends: 'http://h/fhir' is not a prefix of 'http://h/fhir2'.
    this.pattern = new RegExp(`(?:${escaped.join('|')})(?![A-Za-z0-9\\-._~%:@])`, 'g');
  }

  /** Every backend base in the text replaced by the public base (with or without the following '/'). */
  text(text: string): string {
    return text.replace(this.pattern, this.replacement);
  }

  /** Location and Content-Location rewritten; other headers unchanged. */
  headers(headers: Record<string, string>): Record<string, string> {
    const out = { ...headers };
    for (const name of REWRITTEN_HEADERS) if (out[name] !== undefined) out[name] = this.text(out[name]);
    return out;
  }

  /** A backend answer with its URLs rewritten. Bodies that are not JSON/XML text, or are compressed, pass unchanged. */
  response(res: BackendResponse): BackendResponse {
    const encoded = res.headers['content-encoding'] && res.headers['content-encoding'] !== 'identity';
    const body = !encoded && isTextBody(res.contentType) ? this.text(res.body.toString()) : res.body;
    return { ...res, headers: this.headers(res.headers), body };
  }

  /** A JSON body parsed with its URLs already rewritten, for post-processing; throws SyntaxError on bad JSON. */
  parseJson<T>(body: Buffer | string): T {
    return JSON.parse(this.text(body.toString())) as T;
  }
}

// Turning what HTTP, OAuth and FHIR libraries throw into one-line causes a user can act on.
import type { OperationOutcome } from '@medplum/fhirtypes';

/** A FHIR request that failed: the status and OperationOutcome are kept for error rows and Catch flows. */
export class FhirRequestError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly outcome?: OperationOutcome,
    /** From a Retry-After header (429, 503), in ms. */
    readonly retryAfterMs?: number,
    /** No answer within the request timeout. */
    readonly timedOut = false,
    /** The server's TLS certificate was refused: asking again cannot help. */
    readonly certificateRefused = false,
  ) {
    super(message);
    this.name = 'FhirRequestError';
  }
}

interface ErrorLike {
  message?: unknown;
  name?: unknown;
  code?: unknown;
  cause?: unknown;
  status?: unknown;
  error?: unknown;
  error_description?: unknown;
  response?: { status?: unknown; data?: unknown };
  config?: { headers?: { get?(name: string): string | null } };
}

/** Retry-After as seconds or an HTTP date, in ms from now. */
export function retryAfterMs(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function isOutcome(v: unknown): v is OperationOutcome {
  return typeof v === 'object' && v !== null && (v as { resourceType?: unknown }).resourceType === 'OperationOutcome';
}

/** The diagnostics (or details text, or code) of each issue, joined. */
export function outcomeText(outcome: OperationOutcome): string {
  return (outcome.issue ?? [])
    .map((i) => i.diagnostics || i.details?.text || i.code)
    .filter(Boolean)
    .join('; ');
}

/** The message of a Google API error body (`{"error": {"code", "message", "status"}}`), which Google's FHIR API answers outside FHIR. */
function apiErrorText(data: unknown): string | undefined {
  const error = (data as { error?: { message?: unknown; status?: unknown } } | null)?.error;
  if (typeof error !== 'object' || error === null || typeof error.message !== 'string') return undefined;
  return typeof error.status === 'string' ? `${error.status}: ${error.message}` : error.message;
}

/** OpenSSL's verdicts on a server's certificate as node:tls codes them (CERT_HAS_EXPIRED, SELF_SIGNED_CERT_IN_CHAIN, ...). */
const CERTIFICATE_CODE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|INVALID_CA/;

/** The error and its cause (undici hides the network's error in `cause`). */
function withCause(e: ErrorLike): ErrorLike[] {
  const cause = (e.cause ?? undefined) as ErrorLike | undefined;
  return cause ? [e, cause] : [e];
}

/** The TLS refusal of the server's certificate in `err`, if that is what it is. */
function certificateRefusal(err: unknown): ErrorLike | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  return withCause(err as ErrorLike).find((c) => typeof c.code === 'string' && CERTIFICATE_CODE.test(c.code));
}

/** The network-level cause of a failed request. */
function networkCause(e: ErrorLike): string | undefined {
  const [, cause] = withCause(e);
  const refusal = certificateRefusal(e);
  if (refusal) {
    return (
      `the server's TLS certificate was refused (${String(refusal.code)}: ${String(refusal.message)}): it must name the server's ` +
      `host and come from an authority Node-RED trusts; for an authority of your own, start Node-RED with NODE_EXTRA_CA_CERTS ` +
      `set to that authority's certificate file`
    );
  }
  for (const c of withCause(e)) {
    if (c.name === 'TimeoutError') return 'timed out';
    if (c.name === 'AbortError') return 'aborted';
    if (typeof c.code === 'string' && /^E[A-Z_]+$/.test(c.code)) {
      const m = typeof c.message === 'string' ? c.message : '';
      return `cannot connect (${m.includes(c.code) ? m : `${c.code} ${m}`.trim()})`;
    }
  }
  if (cause && typeof cause.message === 'string' && cause.message) return describeFailure(cause);
  return undefined;
}

/** One line saying why something failed, without stack traces. */
export function describeFailure(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err);
  let e = err as ErrorLike;
  // A 401 with WWW-Authenticate (openid-client WWWAuthenticateChallengeError) keeps the OAuth error in
  // the challenge parameters.
  const challenge = Array.isArray(e.cause) ? (e.cause[0] as { parameters?: ErrorLike } | undefined)?.parameters : undefined;
  if (typeof challenge?.error === 'string') e = { ...challenge, status: e.status };
  // OAuth error response (openid-client ResponseBodyError)
  if (typeof e.error === 'string') {
    const status = typeof e.status === 'number' ? `HTTP ${e.status} ` : '';
    const description = typeof e.error_description === 'string' ? `: ${e.error_description}` : '';
    return `${status}${e.error}${description}`;
  }
  // FHIR error response (fhir-kit-client)
  if (e.response && typeof e.response.status === 'number') {
    const data: unknown = e.response.data;
    const detail = isOutcome(data) ? outcomeText(data) : typeof data === 'string' ? data.slice(0, 200) : (apiErrorText(data) ?? '');
    return `HTTP ${e.response.status}${detail ? `: ${detail}` : ''}`;
  }
  // An HTTP answer that is not the expected one (openid-client keeps the Response as the cause): its status.
  const answer = e.cause as { status?: unknown; statusText?: unknown } | undefined;
  if (typeof answer === 'object' && answer !== null && typeof answer.status === 'number' && typeof e.message === 'string') {
    const text = typeof answer.statusText === 'string' && answer.statusText ? ` ${answer.statusText}` : '';
    return `${e.message}: HTTP ${answer.status}${text}`;
  }
  const net = networkCause(e);
  if (net) return net;
  return typeof e.message === 'string' && e.message ? e.message : String(err);
}

/** Wrap whatever a FHIR call threw as a FhirRequestError naming what was attempted. */
export function fhirError(what: string, err: unknown): FhirRequestError {
  if (err instanceof FhirRequestError) return err;
  const e = (err ?? {}) as ErrorLike;
  const status = typeof e.response?.status === 'number' ? e.response.status : undefined;
  const data: unknown = e.response?.data;
  const outcome = isOutcome(data) ? data : undefined;
  const retryAfter = retryAfterMs(e.config?.headers?.get?.('retry-after'));
  const cause = describeFailure(err);
  const timedOut = status === undefined && cause === 'timed out';
  return new FhirRequestError(`${what} failed: ${cause}`, status, outcome, retryAfter, timedOut, certificateRefusal(err) !== undefined);
}

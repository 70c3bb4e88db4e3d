// One HTTP exchange over Node's own client, its answer read whole as bytes: the export's transactions (bodies written
// once into buffers the run reuses, which fetch would copy into a request stream of its own) and the gateway's
// requests to its backend (request options worked out once, a plain timer for the deadline). Node-RED-free.
import http from 'node:http';
import https from 'node:https';

export interface ExchangeRequest {
  /** Origin, path, method and the caller's connection pool; `protocol` 'https:' goes over TLS. */
  options: Omit<http.RequestOptions, 'headers'>;
  headers: Record<string, string>;
  /** Sent with its Content-Length. */
  body?: Buffer;
  /** Aborts the exchange. */
  signal?: AbortSignal;
  /** The whole exchange's deadline, in ms: a plain timer, which costs a request less than an AbortSignal would. */
  timeoutMs?: number;
}

export interface ExchangeAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** An exchange that brought no answer: the network's error as `cause`, and what the caller decides a retry on. */
export class ExchangeFailure extends Error {
  constructor(
    override readonly cause: unknown,
    /** Ended by `timeoutMs`. */
    readonly timedOut: boolean,
    /**
     * Reset on a pooled connection that had carried an earlier request: the server closed it (its idle timeout raced
     * this request), so the request may not have reached it, and an idempotent one can go once more.
     */
    readonly stale: boolean,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

/** Send one request and read its answer whole; rejects with an ExchangeFailure. */
export function httpExchange({ options, headers: given, body, signal, timeoutMs }: ExchangeRequest): Promise<ExchangeAnswer> {
  const request = options.protocol === 'https:' ? https.request : http.request;
  const headers = body ? { ...given, 'content-length': String(body.length) } : given;
  return new Promise((resolve, reject) => {
    let req: http.ClientRequest;
    try {
      req = request({ ...options, headers, signal });
    } catch (err) {
      // A header value Node refuses (a control character, say), thrown before anything is sent.
      reject(new ExchangeFailure(err, false, false));
      return;
    }
    let timedOut = false;
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            req.destroy();
          }, timeoutMs);
    const fail = (err: unknown) => {
      clearTimeout(timer);
      const reset = (err as { code?: string } | undefined)?.code === 'ECONNRESET';
      reject(new ExchangeFailure(err, timedOut, !timedOut && req.reusedSocket && reset));
    };
    req.on('error', fail);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', fail);
      res.on('end', () => {
        clearTimeout(timer);
        // A client's answer always has a status; 502 says "bad gateway" if one ever did not.
        resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) });
      });
    });
    req.end(body);
  });
}

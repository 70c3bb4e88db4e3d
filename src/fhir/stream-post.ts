// A POST whose body is written from text pieces as the socket takes them, over Node's own http client: strings go
// to the socket as they are, without a buffer of bytes for each piece (what fetch's ReadableStream bodies need), so
// a long export does not hold tens of megabytes of sent pieces until the collector frees them. Node-RED-free.
import http from 'node:http';
import https from 'node:https';

/** The answer to a streamed POST: its status, headers and text. */
export interface PostAnswer {
  status: number;
  headers: Headers;
  text: string;
}

/** Connections kept open between the chunks of an export, as fetch keeps them. */
const AGENTS = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

function answerHeaders(raw: http.IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (value !== undefined) headers.append(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}

/** Once `req` can take more, or is closed. */
function drained(req: http.ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      req.off('drain', done);
      req.off('close', done);
      resolve();
    };
    req.on('drain', done);
    req.on('close', done);
  });
}

/**
 * Write `pieces` to `req` as its socket takes them, then end it. Written by hand rather than piped through
 * `Readable.from`: a stream per transaction kept each piece alive long enough for the collector to move it to
 * the old generation, where it stayed until a full collection (hundreds of megabytes in a long export).
 */
async function writePieces(req: http.ClientRequest, pieces: Iterable<string>): Promise<void> {
  for (const piece of pieces) {
    if (req.destroyed) return;
    if (!req.write(piece)) await drained(req);
  }
  if (!req.destroyed) req.end();
}

/**
 * POST `pieces` to `url` with `headers` (which must give the Content-Length); rejects with the signal's reason
 * when it aborts, else with the network error. The answer is read whole (a transaction-response).
 */
export function streamPost(url: string, headers: Headers, signal: AbortSignal | undefined, pieces: Iterable<string>): Promise<PostAnswer> {
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  return new Promise<PostAnswer>((resolve, reject) => {
    const fail = (err: unknown) => reject(signal?.aborted ? signal.reason : err);
    const req = (secure ? https : http).request(target, {
      method: 'POST',
      headers: Object.fromEntries(headers),
      agent: secure ? AGENTS.https : AGENTS.http,
      signal,
    });
    req.on('error', fail);
    req.on('response', (res) => {
      res.setEncoding('utf8');
      let text = '';
      res.on('data', (piece: string) => (text += piece));
      res.on('error', fail);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: answerHeaders(res.headers), text }));
    });
    // A piece that cannot be made abandons the request, with its error.
    writePieces(req, pieces).catch((err: unknown) => {
      req.destroy(err as Error);
      fail(err);
    });
  });
}

// A POST of a body of bytes over Node's own http client, its answer read whole as text: the transactions of an export,
// whose bodies are written once into buffers the run reuses (fetch would copy each into a request stream of its
// own). Node-RED-free.
import http from 'node:http';
import https from 'node:https';

/** The answer to a POST: its status, headers and text. */
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

/**
 * POST `body` to `url` with `headers` (its Content-Length is the body's); rejects with the signal's reason when it
 * aborts, else with the network error.
 */
export function postBody(url: string, headers: Headers, signal: AbortSignal | undefined, body: Buffer): Promise<PostAnswer> {
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  return new Promise<PostAnswer>((resolve, reject) => {
    const fail = (err: unknown) => reject(signal?.aborted ? signal.reason : err);
    const req = (secure ? https : http).request(target, {
      method: 'POST',
      headers: { ...Object.fromEntries(headers), 'content-length': String(body.length) },
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
    req.end(body);
  });
}

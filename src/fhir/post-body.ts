// A POST of a body of bytes to a URL, its answer read whole as text: the transactions of an export, whose bodies are
// written once into buffers the run reuses. Node-RED-free.
import http from 'node:http';
import https from 'node:https';
import { urlToHttpOptions } from 'node:url';
import type { ExchangeFailure } from './http-exchange.js';
import { httpExchange } from './http-exchange.js';

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
export async function postBody(url: string, headers: Headers, signal: AbortSignal | undefined, body: Buffer): Promise<PostAnswer> {
  const options = urlToHttpOptions(new URL(url));
  const agent = options.protocol === 'https:' ? AGENTS.https : AGENTS.http;
  try {
    const answer = await httpExchange({
      options: { ...options, method: 'POST', agent },
      headers: Object.fromEntries(headers),
      body,
      signal,
    });
    return { status: answer.status, headers: answerHeaders(answer.headers), text: answer.body.toString('utf8') };
  } catch (err) {
    throw signal?.aborted ? signal.reason : (err as ExchangeFailure).cause;
  }
}

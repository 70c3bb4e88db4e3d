// Location lineage (OpenSRP's LocationHelper.updateLocationLineage): after a Location is created or updated, the
// stored Location gets the lineage tags, one per id of itself and of every ancestor by `partOf` (read from the
// backend), which RelatedEntityLocation filters on. The gateway writes them back with its own PUT; that write is a
// side effect of the client's, so its failures are the caller's to report, not to turn into the client's answer.
// Servers such as HAPI FHIR keep a resource's tags when a new version leaves them out: lineage tags the PUT left
// behind there (a moved Location's old ancestors, or a client's own) are removed with `$meta-delete`.
import type { Coding, Location, Meta } from '@medplum/fhirtypes';
import { FHIR_JSON } from '../http/answer.js';
import type { BackendResponse, GatewayBackend } from '../proxy/backend.js';
import { referencedId } from '../proxy/lookups.js';
import type { ParsedRequest } from '../http/request.js';
import { isJsonObject } from '../../json/object.js';

/** Ancestors followed at most: a deeper chain is taken for a broken hierarchy. */
const MAX_DEPTH = 64;

/** Whether the request creates (`POST Location`) or updates (`PUT Location/<id>`) a Location. */
export function writesLocation({ method, parsed: p }: ParsedRequest): boolean {
  if (method !== 'POST' && method !== 'PUT') return false;
  const plain = p.type === 'Location' && !p.history && !p.compartmentType && !p.operation && !p.search;
  return plain && (method === 'POST' ? p.id === undefined : p.id !== undefined);
}

/** The id of the Location a successful write stored: from the answer's body, else its Location header, else the path. */
function writtenId(req: ParsedRequest, res: BackendResponse, body: unknown): string | undefined {
  if (isJsonObject(body) && body.resourceType === 'Location' && typeof body.id === 'string') return body.id;
  const header = res.headers.location ?? res.headers['content-location'];
  return referencedId(header?.replace(/\/_history\/[^/]+$/, ''), 'Location') ?? req.parsed.id;
}

/** Which Locations the writer may see: the lineage is made of those only, up to the first it may not. */
export type Visible = (location: Location) => boolean;

/** The ids of the Location's ancestors the writer may see and of itself, root first. */
export async function lineageOf(
  backend: Pick<GatewayBackend, 'get'>,
  location: Location,
  visible: Visible = () => true,
): Promise<string[]> {
  const ids = [location.id ?? ''];
  let parent = referencedId(location.partOf?.reference, 'Location');
  while (parent !== undefined) {
    if (ids.includes(parent)) throw new Error(`the partOf chain of Location/${location.id ?? ''} loops at Location/${parent}`);
    if (ids.length > MAX_DEPTH) throw new Error(`Location/${location.id ?? ''} has more than ${MAX_DEPTH} ancestors`);
    const ancestor = await backend.get<Location>(`Location/${parent}`);
    if (ancestor?.resourceType !== 'Location') throw new Error(`the ancestor Location/${parent} cannot be read`);
    // An ancestor the writer may not see would be revealed by the tags of the answer, and make the Location another's.
    if (!visible(ancestor)) break;
    ids.push(parent);
    parent = referencedId(ancestor.partOf?.reference, 'Location');
  }
  return ids.reverse();
}

/** The codes of a Location's lineage tags. */
const lineageCodes = (location: Location, system: string): (string | undefined)[] =>
  (location.meta?.tag ?? []).filter((t) => t.system === system).map((t) => t.code);

/** The Location with exactly these lineage tags (other tags kept), or undefined when it has them already (in any order). */
function withLineageTags(location: Location, lineage: string[], system: string): Location | undefined {
  const tags = location.meta?.tag ?? [];
  const current = lineageCodes(location, system);
  if (current.length === lineage.length && lineage.every((code) => current.includes(code))) return undefined;
  const tag: Coding[] = [...tags.filter((t) => t.system !== system), ...lineage.map((code) => ({ system, code }))];
  return { ...location, meta: { ...location.meta, tag } };
}

/** An answer's body, parsed when it is JSON. */
function parsedBody(res: BackendResponse): unknown {
  try {
    return res.body.length ? JSON.parse(res.body.toString()) : undefined;
  } catch {
    return undefined;
  }
}

/** The Location stored under `id`; rejects when it cannot be read. */
async function readLocation(backend: Pick<GatewayBackend, 'get'>, id: string): Promise<Location> {
  const location = await backend.get<Location>(`Location/${id}`);
  if (location?.resourceType !== 'Location') throw new Error(`Location/${id} cannot be read back`);
  return location;
}

/** The Location an answer holds, else the one stored under `id`. */
function locationOf(backend: Pick<GatewayBackend, 'get'>, res: BackendResponse, id: string): Promise<Location> {
  const body = parsedBody(res);
  return isJsonObject(body) && body.resourceType === 'Location' ? Promise.resolve(body as unknown as Location) : readLocation(backend, id);
}

/** Removes lineage tags a backend kept from earlier versions; resolves with the Location as stored afterwards. */
async function withoutStaleLineage(
  backend: Pick<GatewayBackend, 'get' | 'forward'>,
  written: Location,
  lineage: string[],
  system: string,
): Promise<Location | undefined> {
  const stale = lineageCodes(written, system).filter((code) => code === undefined || !lineage.includes(code));
  if (!stale.length) return undefined;
  const id = written.id ?? '';
  const what = `POST Location/${id}/$meta-delete`;
  const res = await backend.forward({
    method: 'POST',
    path: `Location/${id}/$meta-delete`,
    query: {},
    headers: { 'content-type': FHIR_JSON, accept: FHIR_JSON },
    body: { resourceType: 'Parameters', parameter: [{ name: 'meta', valueMeta: { tag: stale.map((code) => ({ system, code })) } }] },
  });
  if (res.status < 200 || res.status >= 300) throw new Error(`${what} answered ${res.status}`);
  // Its answer is the meta left (a Parameters with `return`): the Location as stored now, without reading it again.
  const meta = metaOf(parsedBody(res));
  return meta ? { ...written, meta: { ...written.meta, ...meta } } : readLocation(backend, id);
}

/** The Meta of a `$meta-*` answer (Parameters with `return`), if it has one. */
function metaOf(body: unknown): Meta | undefined {
  if (!isJsonObject(body) || body.resourceType !== 'Parameters' || !Array.isArray(body.parameter)) return undefined;
  const meta = (body.parameter as unknown[]).find((p) => isJsonObject(p) && p.name === 'return' && isJsonObject(p.valueMeta));
  return meta ? (meta as { valueMeta: Meta }).valueMeta : undefined;
}

/**
 * The answer to a successful Location write, with the stored Location's lineage tags brought up to date: the
 * backend's answer to the gateway's PUT as body (status and other headers of the client's write kept), or the
 * original answer when there was nothing to change. Rejects when the lineage cannot be read or written.
 */
export async function updateLineage(
  backend: Pick<GatewayBackend, 'get' | 'forward'>,
  req: ParsedRequest,
  res: BackendResponse,
  system: string,
  visible?: Visible,
): Promise<BackendResponse> {
  const id = writtenId(req, res, parsedBody(res));
  if (id === undefined) throw new Error('the backend did not say which Location it stored');
  const stored = await locationOf(backend, res, id);
  const lineage = await lineageOf(backend, stored, visible);
  const updated = withLineageTags(stored, lineage, system);
  if (!updated) return res;
  const version = stored.meta?.versionId;
  const headers: Record<string, string> = { 'content-type': FHIR_JSON, accept: FHIR_JSON, prefer: 'return=representation' };
  // Only over the version just written: a concurrent update wins, and its own write brings the lineage.
  if (version) headers['if-match'] = `W/"${version}"`;
  const put = await backend.forward({ method: 'PUT', path: `Location/${id}`, query: {}, headers, body: updated });
  if (put.status < 200 || put.status >= 300) throw new Error(`PUT Location/${id} answered ${put.status}`);
  const written = await locationOf(backend, put, id);
  const cleaned = await withoutStaleLineage(backend, written, lineage, system);
  const kept = Object.fromEntries(Object.entries(put.headers).filter(([name]) => name === 'etag' || name === 'last-modified'));
  const body = cleaned ? Buffer.from(JSON.stringify(cleaned)) : put.body;
  return { ...res, headers: { ...res.headers, ...kept }, body, contentType: cleaned ? FHIR_JSON : put.contentType };
}

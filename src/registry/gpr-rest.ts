// A live GeoPrism Registry over its REST API (HTTP Basic): metadata from cgr/init, root objects of each
// hierarchy from geoobject/get-all (paged), the rest from geoobject/getchildren at the date. Node-RED-free.
import type { GeoObject, ParentLink, RegistryModel } from './model.js';
import { readFeature, readHierarchy, readType } from './gpr-json.js';
import { describeFailure } from '../fhir/errors.js';
import { parseWktGeometries } from './files.js';

export interface GprConnection {
  /** GPR base, e.g. https://gpr.example.org (the API is under /api). */
  url: string;
  username: string;
  password: string;
  timeoutMs: number;
}

export interface GprQuery {
  /** Hierarchy codes; empty = all. */
  hierarchies: string[];
  forDate: string;
  /** Page size for get-all (GPR allows at most 1000). */
  pageSize: number;
}

interface TreeNode {
  geoObject?: unknown;
  children?: TreeNode[];
}

function client(conn: GprConnection) {
  const base = `${conn.url.replace(/\/+$/, '')}/api/`;
  const authorization = `Basic ${Buffer.from(`${conn.username}:${conn.password}`).toString('base64')}`;
  return async function get(path: string, query: Record<string, string>): Promise<unknown> {
    const url = `${base}${path}?${new URLSearchParams(query)}`;
    let res: Response;
    try {
      res = await fetch(url, { headers: { authorization, accept: 'application/json' }, signal: AbortSignal.timeout(conn.timeoutMs) });
    } catch (err) {
      throw new Error(`GPR ${path} failed: ${describeFailure(err)}`);
    }
    if (res.status === 401 || res.status === 403) throw new Error(`GPR refused the credentials of "${conn.username}" (HTTP ${res.status})`);
    const text = await res.text();
    if (!res.ok) throw new Error(`GPR ${path} answered HTTP ${res.status}: ${text.slice(0, 200)}`);
    try {
      return JSON.parse(text);
    } catch {
      throw new Error(`GPR ${path} answered something that is not JSON`);
    }
  };
}

export async function loadFromGpr(conn: GprConnection, query: GprQuery): Promise<RegistryModel> {
  const get = client(conn);
  const init = (await get('cgr/init', { includeGraphTypes: 'false' })) as { types?: unknown[]; hierarchies?: unknown[] };
  if (!Array.isArray(init.types) || !Array.isArray(init.hierarchies)) throw new Error('GPR cgr/init has no types or hierarchies');
  const types = init.types.map(readType);
  const all = init.hierarchies.map(readHierarchy);
  const hierarchies = query.hierarchies.length ? all.filter((h) => query.hierarchies.includes(h.code)) : all;
  const missing = query.hierarchies.filter((c) => !all.some((h) => h.code === c));
  if (missing.length) throw new Error(`GPR has no hierarchy ${missing.join(', ')}`);

  const objects = new Map<string, GeoObject>();
  const links: ParentLink[] = [];
  const keep = (o: GeoObject) => objects.set(`${o.type}|${o.code}`, objects.get(`${o.type}|${o.code}`) ?? o);
  const walk = (hierarchy: string, parent: GeoObject, children: TreeNode[] = []) => {
    for (const child of children) {
      const o = readFeature(child.geoObject);
      keep(o);
      links.push({ hierarchy, childCode: o.code, childType: o.type, parentCode: parent.code, parentType: parent.type });
      walk(hierarchy, o, child.children);
    }
  };
  for (const h of hierarchies) {
    const childTypes = JSON.stringify(types.map((t) => t.code));
    for (const root of h.tree) {
      for (let page = 1; ; page++) {
        const answer = (await get('geoobject/get-all', {
          typeCode: root.type,
          hierarchyCode: h.code,
          pageNumber: String(page),
          pageSize: String(query.pageSize),
        })) as {
          results?: unknown[];
          page?: { total?: number };
        };
        const results = answer.results ?? [];
        for (const feature of results) {
          const o = readFeature(feature);
          keep(o);
          const tree = (await get('geoobject/getchildren', {
            parentCode: o.code,
            parentTypeCode: o.type,
            hierarchyCode: h.code,
            date: query.forDate,
            childrenTypes: childTypes,
            recursive: 'true',
          })) as TreeNode;
          walk(h.code, o, tree.children);
        }
        if (!results.length || page * query.pageSize >= (answer.page?.total ?? 0)) break;
      }
    }
  }
  return parseWktGeometries({ forDate: query.forDate, types, hierarchies, objects: [...objects.values()], links });
}

// A live GeoPrism Registry over its REST API (HTTP Basic): metadata from cgr/init, root objects of each
// hierarchy from geoobject/get-all (paged), the rest from geoobject/getchildren at the date. Node-RED-free.
import type { GeoObject, ParentLink, RegistryModel } from './model.js';
import { readFeature, readHierarchy, readType } from './gpr-json.js';
import type { GprConnection } from './gpr-client.js';
import { gprClient } from './gpr-client.js';
import { parseWktGeometries } from './files.js';

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

export async function loadFromGpr(conn: GprConnection, query: GprQuery): Promise<RegistryModel> {
  const { get } = gprClient(conn);
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

// Writing imported geo-objects to a live GeoPrism Registry through the Common Geo-Registry API:
// geoobject/get-code (exists?), geoobject/get-uids (ids for new objects), geoobject/create or /update with
// the GeoJSON Feature, then geoobject/addchild per parent link with its dates. Node-RED-free.
import type { RegistryModel, GeoObject } from '../registry/model.js';
import type { ErrorRow } from './job.js';
import type { GprConnection } from '../registry/gpr-client.js';
import { GprError, gprClient } from '../registry/gpr-client.js';

/** GPR's "forever". */
const FOREVER = '5000-12-31';

export interface GprWriteResult {
  created: number;
  updated: number;
  linked: number;
  rows: ErrorRow[];
}

function feature(o: GeoObject, uid: string) {
  const localeValues = Object.entries(o.label).map(([locale, value]) => ({
    locale: locale === 'default' ? 'defaultLocale' : locale,
    value,
  }));
  return {
    type: 'Feature',
    geometry: o.geometry ?? null,
    properties: {
      code: o.code,
      uid,
      type: o.type,
      displayLabel: { localizedValue: o.label.default, localeValues },
      exists: o.exists,
      invalid: o.invalid,
    },
  };
}

/** Create or update every object of `model` (by type and code), then link each to its parents from `startDate`. */
export async function writeToGpr(conn: GprConnection, model: RegistryModel, startDate: string): Promise<GprWriteResult> {
  const gpr = gprClient(conn);
  const result: GprWriteResult = { created: 0, updated: 0, linked: 0, rows: [] };
  const failed = new Set<string>();
  // GPR refusing one object (4xx) is that object's row; anything else (credentials, network, 5xx) ends the write.
  const row = (code: string, type: string, err: unknown) => {
    const status = err instanceof GprError ? err.status : undefined;
    if (status === undefined || status === 401 || status === 403 || status >= 500) throw err;
    failed.add(`${type}|${code}`);
    result.rows.push({ code, type, severity: 'ERROR', message: (err as Error).message });
  };

  const existing = new Map<string, string>();
  const missing: GeoObject[] = [];
  for (const o of model.objects) {
    try {
      const found = (await gpr.get('geoobject/get-code', { code: o.code, typeCode: o.type })) as { properties?: { uid?: string } };
      existing.set(`${o.type}|${o.code}`, String(found?.properties?.uid ?? ''));
    } catch (err) {
      if (err instanceof GprError && err.status === 404) missing.push(o);
      else row(o.code, o.type, err);
    }
  }
  const uids = missing.length ? ((await gpr.get('geoobject/get-uids', { amount: String(missing.length) })) as string[]) : [];
  if (uids.length < missing.length) throw new GprError(`GPR gave ${uids.length} new uids for ${missing.length} new objects`);
  for (const [i, o] of missing.entries()) {
    try {
      await gpr.post('geoobject/create', { geoObject: feature(o, uids[i]) });
      result.created++;
    } catch (err) {
      row(o.code, o.type, err);
    }
  }
  for (const o of model.objects) {
    const uid = existing.get(`${o.type}|${o.code}`);
    if (uid === undefined) continue;
    try {
      await gpr.post('geoobject/update', { geoObject: feature(o, uid) });
      result.updated++;
    } catch (err) {
      row(o.code, o.type, err);
    }
  }
  for (const l of model.links) {
    if (failed.has(`${l.childType}|${l.childCode}`) || failed.has(`${l.parentType}|${l.parentCode}`)) continue;
    try {
      await gpr.post('geoobject/addchild', {
        parentCode: l.parentCode,
        parentTypeCode: l.parentType,
        childCode: l.childCode,
        childTypeCode: l.childType,
        hierarchyCode: l.hierarchy,
        startDate: l.startDate ?? startDate,
        endDate: l.endDate ?? FOREVER,
      });
      result.linked++;
    } catch (err) {
      const status = err instanceof GprError ? err.status : undefined;
      row(l.childCode, l.childType, new GprError(`link to "${l.parentCode}" in "${l.hierarchy}": ${(err as Error).message}`, status));
    }
  }
  return result;
}

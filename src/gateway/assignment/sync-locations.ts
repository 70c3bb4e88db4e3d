// `_syncLocations` (RelatedEntityLocation): a caller holding ALL_LOCATIONS may sync chosen Locations (and all
// their descendants) instead of its own assignment. Any other caller asking for it is refused rather than
// silently given its own data. The parameter is the gateway's: it never reaches the backend.
import { isFhirId } from '../../fhir/ids.js';
import { GatewayDenial } from '../http/denial.js';
import type { SyncStrategy } from './tags.js';

const SYNC_LOCATIONS_PARAM = '_syncLocations';
const ALL_LOCATIONS_ROLE = 'ALL_LOCATIONS';

/** The query without `_syncLocations`, and the Location ids it chose (sorted, unique; undefined when absent). */
export function takeSyncLocations(query: Record<string, string[]>): { query: Record<string, string[]>; chosen?: string[] } {
  const { [SYNC_LOCATIONS_PARAM]: values, ...rest } = query;
  if (values === undefined) return { query: rest };
  const chosen = [...new Set(values.flatMap((v) => v.split(',')).map((id) => id.trim()))].filter((id) => id !== '').sort();
  if (!chosen.length) throw new GatewayDenial(400, 'invalid', `${SYNC_LOCATIONS_PARAM} names no Location`);
  const bad = chosen.find((id) => !isFhirId(id));
  if (bad !== undefined) throw new GatewayDenial(400, 'invalid', `${SYNC_LOCATIONS_PARAM}: invalid Location id '${bad}'`);
  return { query: rest, chosen };
}

/** 403 unless the caller holds ALL_LOCATIONS; checked before any backend lookup. */
export function checkSyncLocationsRole(roles: readonly string[]): void {
  if (!roles.includes(ALL_LOCATIONS_ROLE)) {
    throw new GatewayDenial(403, 'forbidden', `${SYNC_LOCATIONS_PARAM} requires the role ${ALL_LOCATIONS_ROLE}`);
  }
}

/** 403 unless the caller syncs by RelatedEntityLocation (undefined: an unfiltered caller, which syncs by none). */
export function checkSyncLocationsStrategy(strategy: SyncStrategy | undefined): void {
  if (strategy !== 'RelatedEntityLocation') {
    throw new GatewayDenial(403, 'forbidden', `${SYNC_LOCATIONS_PARAM} applies to the RelatedEntityLocation sync strategy only`);
  }
}

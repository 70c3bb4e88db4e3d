// The reads fhircore makes of its own configuration when it starts: the app's Composition by its identifier, and the
// Binaries that Composition references. They carry no assignment tags (every device of the app reads them), so a
// filtered user gets them unfiltered — its own app's only: another app's Composition or Binary stays out of reach.
import type { ParsedRequest } from '../http/request.js';
import { param } from '../http/request.js';

/** Parameters such a read may carry beside the one naming what it reads. */
const PAGING = ['_count'];

function onlyParams(req: ParsedRequest, named: string): string[] | undefined {
  const names = Object.keys(req.query);
  if (!names.every((n) => n === named || PAGING.includes(n))) return undefined;
  const values = param(req.query, named);
  return values?.length === 1 ? values[0].split(',') : undefined;
}

/**
 * Whether the request reads the configuration of the caller's own app: `Composition?identifier=<app id>`, or
 * `Binary/<id>` / `Binary?_id=<ids>` of Binaries its Composition references.
 */
export async function readsOwnAppConfig(
  req: ParsedRequest,
  appId: string | undefined,
  configBinaries: (appId: string) => Promise<Set<string>>,
): Promise<boolean> {
  const { parsed } = req;
  if (appId === undefined || req.method !== 'GET' || parsed.history || parsed.compartmentType || parsed.operation) return false;
  if (parsed.type === 'Composition' && parsed.id === undefined) return onlyParams(req, 'identifier')?.join(',') === appId;
  if (parsed.type !== 'Binary') return false;
  const ids = parsed.id !== undefined ? (Object.keys(req.query).length ? undefined : [parsed.id]) : onlyParams(req, '_id');
  if (!ids?.length) return false;
  const binaries = await configBinaries(appId);
  return ids.every((id) => binaries.has(id));
}

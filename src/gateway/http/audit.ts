// One audit record per request: who asked what, what the gateway decided and why, and the status answered.
import type { GatewayRequest } from './request.js';
import { formatQuery } from './request.js';

export interface AuditRecord {
  /** ISO 8601. */
  time: string;
  sub?: string;
  /** The token's client: Keycloak's `azp`, or `client_id`. */
  clientId?: string;
  method: string;
  path: string;
  /** The query string as the client sent it. */
  query: string;
  decision: 'allow' | 'deny';
  reason: string;
  status: number;
}

function stringClaim(claims: Record<string, unknown> | undefined, name: string): string | undefined {
  const value = claims?.[name];
  return typeof value === 'string' ? value : undefined;
}

export function auditRecord(
  time: Date,
  req: Pick<GatewayRequest, 'method' | 'path' | 'query'>,
  claims: Record<string, unknown> | undefined,
  outcome: Pick<AuditRecord, 'decision' | 'reason' | 'status'>,
): AuditRecord {
  const sub = stringClaim(claims, 'sub');
  const clientId = stringClaim(claims, 'azp') ?? stringClaim(claims, 'client_id');
  return {
    time: time.toISOString(),
    ...(sub !== undefined && { sub }),
    ...(clientId !== undefined && { clientId }),
    method: req.method.toUpperCase(),
    path: req.path,
    query: formatQuery(req.query),
    ...outcome,
  };
}

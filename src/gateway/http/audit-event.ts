// FHIR AuditEvents of the gateway's answers, as the reference gateway writes them to the backend when asked
// (AUDIT_EVENT_ACTIONS_CONFIG): one per request whose action is among the configured ones, with the REST
// interaction, the outcome, and the token's user as the agent.
import type { AuditEvent } from '@medplum/fhirtypes';
import type { AuditRecord } from './audit.js';
import type { ParsedRequest } from './request.js';

/** AuditEvent.action: create, read, update, delete, execute. */
export const AUDIT_ACTIONS = ['C', 'R', 'U', 'D', 'E'] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

const REST = 'http://terminology.hl7.org/CodeSystem/audit-event-type';
const INTERACTION = 'http://hl7.org/fhir/restful-interaction';

/** The REST interaction of a request and the AuditEvent action it is. */
export function interactionOf({ method, parsed }: ParsedRequest): { code: string; action: AuditAction } {
  if (parsed.operation) return { code: 'operation', action: 'E' };
  if (method === 'POST' && parsed.type === undefined) return { code: 'transaction', action: 'E' };
  switch (method) {
    case 'POST':
      return parsed.search ? { code: 'search-type', action: 'E' } : { code: 'create', action: 'C' };
    case 'PUT':
      return { code: 'update', action: 'U' };
    case 'PATCH':
      return { code: 'patch', action: 'U' };
    case 'DELETE':
      return { code: 'delete', action: 'D' };
    default:
      if (parsed.history) return { code: parsed.versionId ? 'vread' : 'history-instance', action: 'R' };
      if (parsed.id !== undefined && !parsed.compartmentType) return { code: 'read', action: 'R' };
      return { code: 'search-type', action: 'E' };
  }
}

/** The AuditEvent of an answered request (outcome 0 for success, 4 for a refusal, 8 for a failure). */
export function auditEvent(req: ParsedRequest, record: AuditRecord, claims: Record<string, unknown>, publicBase: string): AuditEvent {
  const { code, action } = interactionOf(req);
  const name = [claims.subject_name, claims.name, claims.preferred_username].find((v): v is string => typeof v === 'string');
  const outcome = record.status < 400 ? '0' : record.status < 500 ? '4' : '8';
  return {
    resourceType: 'AuditEvent',
    type: { system: REST, code: 'rest', display: 'RESTful Operation' },
    subtype: [{ system: INTERACTION, code }],
    action,
    recorded: record.time,
    outcome,
    outcomeDesc: record.reason,
    agent: [
      {
        who: {
          identifier: { system: typeof claims.iss === 'string' ? claims.iss : undefined, value: record.sub },
          ...(name && { display: name }),
        },
        requestor: true,
      },
    ],
    source: { observer: { display: publicBase } },
    entity: [
      {
        what: {
          ...(req.parsed.type && req.parsed.id && { reference: `${req.parsed.type}/${req.parsed.id}` }),
          display: `${req.method} ${req.path}${record.query ? `?${record.query}` : ''}`,
        },
      },
    ],
  };
}

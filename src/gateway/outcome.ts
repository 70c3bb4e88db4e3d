// Denials the gateway answers itself: an HTTP status plus an OperationOutcome whose issue code says why.
import type { OperationOutcome } from '@medplum/fhirtypes';

export type DenialCode = 'login' | 'forbidden' | 'invalid' | 'not-supported' | 'exception' | 'transient';

/** A request the gateway refuses (or cannot serve); thrown by the checks and turned into a response by the node. */
export class GatewayDenial extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 502 | 503,
    readonly code: DenialCode,
    message: string,
  ) {
    super(message);
    this.name = 'GatewayDenial';
  }
}

export function operationOutcome(code: DenialCode, diagnostics: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics }] };
}
